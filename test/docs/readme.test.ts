import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { type ChildSignalbox, startChildSignalbox } from '../../bench/child.ts'
import { loadConfig } from '../../core/config.ts'

/*
 * The README says only what is true, and stays so: every command it shows exists, every link
 * resolves, the ports it names are the defaults, and every curl example answers 2xx from the
 * all-in-one started as a newcomer starts it (`signalbox start` with the demo estate, its own
 * process). docs/connectors.md's reference connectors are the ones the demo registers, and the
 * stages it names are stages of config/flows.yaml.
 */

const run = promisify(execFile)
const root = join(import.meta.dirname, '../..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const connectorsDoc = readFileSync(join(root, 'docs/connectors.md'), 'utf8')
const scripts = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts

/** The body of every ```sh block, one shell command an entry (continuations and quoted newlines joined). */
function shellCommands(markdown: string): string[] {
  const out: string[] = []
  for (const [, body] of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    let command = ''
    for (const line of (body as string).split('\n')) {
      if (command === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue
      command += `${command ? '\n' : ''}${line}`
      const quotes = (command.match(/'/g) ?? []).length
      if (quotes % 2 === 0 && !command.endsWith('\\')) {
        out.push(command.replace(/\s+#[^'\n]*$/, '').trim())
        command = ''
      }
    }
  }
  return out
}

/** Inline code spans that are commands (`curl …`, `npm …`). */
const inlineCommands = (markdown: string) =>
  [...markdown.matchAll(/`((?:curl|npm|npx) [^`]+)`/g)].map((m) => m[1] as string)

const commands = [...shellCommands(readme), ...inlineCommands(readme)]
const curls = commands.filter((c) => c.startsWith('curl '))
/** The CLI's commands, but those with a placeholder to fill in (`<id>`). */
const cli = commands.filter((c) => c.startsWith('npx signalbox ') && !/<\w+>/.test(c))
const npms = commands.filter((c) => c.startsWith('npm '))

describe('README commands and links', () => {
  it.each(npms)('`%s` names a script package.json has', (command) => {
    const words = command.split(/\s+/)
    if (words[1] === 'install' || words[1] === 'ci') return
    const script = words[1] === 'run' ? words[2] : words[1]
    expect(scripts, `README runs npm ${script}`).toHaveProperty(script as string)
    // `npm start -- --flag`: a flag of the command the script runs.
    const flags = words.slice(words.indexOf('--') + 1).filter((w) => w.startsWith('--'))
    if (words.includes('--') && flags.length > 0) {
      const help = readFileSync(join(root, 'cli/main.ts'), 'utf8')
      for (const flag of flags) expect(help, `${flag} is an option of the CLI`).toContain(`'${flag}`)
    }
  })

  it('shows commands at all (the parser found them)', () => {
    expect(npms.length).toBeGreaterThanOrEqual(3)
    expect(curls.length).toBeGreaterThanOrEqual(3)
    expect(cli.length).toBeGreaterThanOrEqual(3)
  })

  it('links only to files that exist', () => {
    const links = [...readme.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)].map((m) => m[1] as string)
    const local = links.filter((l) => !/^[a-z]+:/.test(l))
    expect(local.length).toBeGreaterThan(5)
    for (const link of local) expect(existsSync(join(root, link)), link).toBe(true)
  })

  it('names the default ports', () => {
    const config = loadConfig({ SIGNALBOX_DATA_DIR: 'data' }, { readDotEnv: false })
    expect(readme).toContain(`collector on ${config.otlpHttpPort} (HTTP) and ${config.otlpGrpcPort} (gRPC)`)
    expect(readme).toContain(`api + web UI on ${config.httpPort}`)
  })
})

const table = [...connectorsDoc.matchAll(/^\| `([a-z-]+)`\s*\|[^|]*\|([^|]*)\|$/gm)]

describe('docs/connectors.md', () => {
  const flows = parse(readFileSync(join(root, 'config/flows.yaml'), 'utf8')) as Record<
    string,
    { stages: Array<{ name: string }>; terminal?: Array<{ name: string }> }
  >
  const stageNames = new Set(
    Object.values(flows).flatMap((f) => [...f.stages, ...(f.terminal ?? [])].map((s) => s.name)),
  )

  it('lists, as each connector’s stages, stages of config/flows.yaml', () => {
    expect(table.length).toBe(6)
    for (const [, connector, stages] of table)
      for (const [, stage] of (stages as string).matchAll(/`([a-z_]+)`/g))
        expect(stageNames, `${connector}: ${stage}`).toContain(stage)
  })
})

describe('the README and docs/connectors.md against the all-in-one with its demo', () => {
  let child: ChildSignalbox | undefined
  const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-readme-'))
  beforeAll(async () => {
    child = await startChildSignalbox({ SIGNALBOX_DATA_DIR: dataDir }, { demo: true })
  }, 120_000)
  /** The settings `start` was given, as a user's shell would have them for the CLI. */
  const settings = () => ({
    ...process.env,
    SIGNALBOX_DATA_DIR: dataDir,
    SIGNALBOX_HTTP_PORT: new URL(child?.apiUrl as string).port,
    SIGNALBOX_OTLP_HTTP_PORT: new URL(child?.collectorUrl as string).port,
  })
  afterAll(async () => {
    await child?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('registers the reference connectors the docs list', async () => {
    const listed = table.map((m) => m[1]).sort()
    await expect
      .poll(
        async () => {
          const res = await fetch(`${child?.apiUrl}/api/connectors`)
          const body = (await res.json()) as { connectors: Array<{ id: string }> }
          return body.connectors.map((c) => c.id).sort()
        },
        { timeout: 60_000, interval: 250 },
      )
      .toEqual(listed)
  })

  it.each(curls)('README: %s answers 2xx', async (command) => {
    const api = new URL(child?.apiUrl as string)
    const collector = new URL(child?.collectorUrl as string)
    const local = command
      .replaceAll('localhost:8080', `127.0.0.1:${api.port}`)
      .replaceAll('localhost:4318', `127.0.0.1:${collector.port}`)
    // --fail-with-body: curl exits non-zero on an HTTP error and still prints the answer.
    const { stdout } = await run('sh', ['-c', local.replace(/^curl /, 'curl --fail-with-body ')], {
      cwd: root,
    }).catch((err: { stdout?: string; code?: number }) => {
      throw new Error(`${command}\n→ curl exit ${err.code}: ${err.stdout}`)
    })
    if (stdout.trim()) expect(() => JSON.parse(stdout)).not.toThrow()
  })

  it.each(cli)(
    'README: %s runs beside the running all-in-one',
    async (command) => {
      // A load runs for seconds here, not a minute.
      const local = command.replace(/--seconds \d+/, '--seconds 3').replace(/\s+#.*$/, '')
      const { stdout, stderr } = await run('sh', ['-c', local], { cwd: root, env: settings() }).catch(
        (err: { stdout?: string; stderr?: string; code?: number }) => {
          throw new Error(`${command}\n→ exit ${err.code}: ${err.stderr ?? ''}${err.stdout ?? ''}`)
        },
      )
      expect(`${stdout}${stderr}`).not.toMatch(/\bat .*\.ts:\d+/) // no stack trace
    },
    120_000,
  )
})
