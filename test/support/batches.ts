import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** config/ copied to a temp dir with its batches.yaml replaced, the way a user declares jobs. */
export function configWithBatches(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'signalbox-config-'))
  const shipped = join(import.meta.dirname, '../../config')
  cpSync(shipped, dir, { recursive: true, filter: (src) => src !== join(shipped, 'demo') })
  writeFileSync(join(dir, 'batches.yaml'), yaml)
  return dir
}

let n = 0
/** A CloudEvent as a connector or a scheduler sends it. */
export const cloudEvent = (
  type: string,
  subject: string,
  at: number,
  data: Record<string, unknown>,
  extensions: Record<string, string> = {},
) => ({
  specversion: '1.0',
  id: `evt-${n++}`,
  source: 'urn:test',
  type,
  subject,
  time: new Date(at).toISOString(),
  datacontenttype: 'application/json',
  data,
  ...extensions,
})
