import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { signalbox } from '../support/cli.ts'

const CONFIG = join(import.meta.dirname, '../../config')
const env = { SIGNALBOX_CONFIG_DIR: CONFIG }

describe('signalbox slo export | import', () => {
  it('exports the configured SLOs as OpenSLO and imports them back into the same slos.yaml', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signalbox-slo-cli-'))
    const exported = await signalbox(['slo', 'export', '--output', join(dir, 'openslo.yaml')], { env })
    expect(exported.code, exported.stderr).toBe(0)
    const imported = await signalbox(['slo', 'import', join(dir, 'openslo.yaml')], { env })
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.stderr).toBe('')
    expect(parse(imported.stdout)).toEqual(parse(readFileSync(join(CONFIG, 'slos.yaml'), 'utf8')))
  })

  it('names what it does not keep on stderr, and refuses what it cannot do with exit status 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signalbox-slo-cli-'))
    const exported = await signalbox(['slo', 'export'], { env })
    const withName = exported.stdout.replace(
      'kind: SLO\nmetadata:\n  name: erp-calls-succeed\n',
      'kind: SLO\nmetadata:\n  name: erp-calls-succeed\n  displayName: ERP calls\n',
    )
    writeFileSync(join(dir, 'named.yaml'), withName)
    const warned = await signalbox(['slo', 'import', join(dir, 'named.yaml')], { env })
    expect(warned.code).toBe(0)
    expect(warned.stderr).toBe(
      'signalbox: warning: SLO erp-calls-succeed: metadata.displayName is not kept\n',
    )

    writeFileSync(join(dir, 'timeslices.yaml'), exported.stdout.replaceAll('Occurrences', 'Timeslices'))
    const refused = await signalbox(['slo', 'import', join(dir, 'timeslices.yaml')], { env })
    expect(refused.code).toBe(2)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toContain(
      "SLO order-reaches-erp: spec.budgetingMethod: 'Timeslices' is not supported; Signalbox counts good and total events (Occurrences)",
    )
  })
})
