import { Command } from 'commander'
import type { Role } from '../auth/permissions.ts'
import { createToken, revokeToken, type TokenKind } from '../auth/tokens.ts'
import { runLoad } from '../connectors/load/run.ts'
import { SCENARIOS } from '../connectors/load/scenarios.ts'
import { type Config, loadConfig } from '../core/config.ts'
import { ConfigError } from '../core/errors.ts'
import { createLogger } from '../core/logger.ts'
import { addKeyToFile, keyFileOf, newKey, vaultFor } from '../core/payload-vault.ts'
import { openStore, type Store } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'
import { rewriteExceptionPayloads } from '../store/queries/exceptions.ts'
import { CliError, describeFailure, isEngineLocked } from './failure.ts'
import { type Part, run, stopOnSignals } from './runtime.ts'

const program = new Command()
  .name('signalbox')
  .description(
    'Integration observability and control plane for retail: order, inventory and return lifecycles.',
  )
  .option('--verbose', 'on an error, show its stack trace and causes')
  .showHelpAfterError()

async function serveParts(parts: Part[], { serverOnly = false } = {}): Promise<void> {
  // With the demo estate, the demo's flows (config/demo) unless SIGNALBOX_CONFIG_DIR names others.
  const config = loadConfig(process.env, { demo: parts.includes('demo') })
  if (serverOnly && !config.clickhouse.url) {
    // The embedded engine lives inside one process; running parts apart needs a shared server.
    throw new ConfigError([
      'CLICKHOUSE_URL: required to run a part on its own; use `signalbox start` for the embedded all-in-one',
    ])
  }
  try {
    stopOnSignals(await run(parts, config))
  } catch (err) {
    if (isEngineLocked(err))
      throw new CliError(
        `the embedded store in ${config.dataDir} is in use by another process`,
        'is Signalbox already running there? Stop it, or give this one its own SIGNALBOX_DATA_DIR',
        { cause: err },
      )
    throw err
  }
}

program
  .command('start')
  .description(
    'all-in-one: collector (OTLP 4318/4317, CloudEvents), api (8080) and alert evaluator in one process on the embedded store',
  )
  .option('--no-demo', 'do not run the simulated retail estate and its connectors')
  .action((options: { demo: boolean }) =>
    serveParts(options.demo ? ['collector', 'api', 'alerts', 'demo'] : ['collector', 'api', 'alerts']),
  )

program
  .command('collector')
  .description('the collector alone (server mode: CLICKHOUSE_URL)')
  .action(() => serveParts(['collector'], { serverOnly: true }))

program
  .command('api')
  .description('the api alone (server mode: CLICKHOUSE_URL)')
  .action(() => serveParts(['api'], { serverOnly: true }))

program
  .command('alerts')
  .description(
    'the SLO and alert evaluator alone (server mode: CLICKHOUSE_URL); several may run, one evaluates at a time',
  )
  .action(() => serveParts(['alerts'], { serverOnly: true }))

program
  .command('load')
  .description(
    'drive a named scenario against a running Signalbox through the simulated estate and real connectors',
  )
  .requiredOption('--scenario <name>', `one of: ${Object.keys(SCENARIOS).join(', ')}`)
  .option('--seconds <n>', 'how long to run', (v) => Number.parseInt(v, 10), 60)
  .option('--rate <orders-per-minute>', 'base order rate', (v) => Number.parseFloat(v), 60)
  .option('--collector <url>', 'the collector (OTLP/HTTP and CloudEvents)', 'http://127.0.0.1:4318')
  .option('--api <url>', 'the api', 'http://127.0.0.1:8080')
  .option('--seed <n>', 'seed of the simulated estate', (v) => Number.parseInt(v, 10), 42)
  .action(
    async (o: {
      scenario: string
      seconds: number
      rate: number
      collector: string
      api: string
      seed: number
    }) => {
      if (!SCENARIOS[o.scenario])
        throw new ConfigError([
          `--scenario: '${o.scenario}' is not one of ${Object.keys(SCENARIOS).join(', ')}`,
        ])
      if (!(o.seconds > 0 && o.seconds <= 3600)) throw new ConfigError(['--seconds: between 1 and 3600'])
      if (!(o.rate >= 0 && o.rate <= 60_000))
        throw new ConfigError(['--rate: between 0 and 60000 orders a minute'])
      const report = await runLoad({
        scenario: o.scenario,
        collectorUrl: o.collector,
        apiUrl: o.api,
        seconds: o.seconds,
        ordersPerMinute: o.rate,
        seed: o.seed,
      })
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    },
  )

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

const token = program
  .command('token')
  .description('API tokens and ingestion keys (in embedded mode, run while Signalbox is stopped)')

token
  .command('create')
  .description('create a token and print it once; only its hash is stored')
  .requiredOption('--name <name>', 'who or what holds it')
  .option('--role <role>', 'viewer, support, operator or admin', 'viewer')
  .option(
    '--kind <kind>',
    'personal, service or ingest (an ingestion key: writes telemetry only)',
    'personal',
  )
  .option('--expires-days <n>', 'days until it expires (never, if not given)', (v) => Number.parseInt(v, 10))
  .option('--flows <names>', 'limit it to these flows (comma-separated)', list)
  .option('--channels <names>', 'limit it to these channels (comma-separated)', list)
  .option('--systems <names>', 'limit it to these systems (comma-separated)', list)
  .option(
    '--sources <names>',
    'an ingestion key: the sources it may write for (service.name, CloudEvents source, connector)',
    list,
  )
  .action(
    async (o: {
      name: string
      role: string
      kind: string
      expiresDays?: number
      flows?: string[]
      channels?: string[]
      systems?: string[]
      sources?: string[]
    }) => {
      if (!['viewer', 'support', 'operator', 'admin'].includes(o.role))
        throw new ConfigError([`--role: '${o.role}' is not one of viewer, support, operator, admin`])
      if (!['personal', 'service', 'ingest'].includes(o.kind))
        throw new ConfigError([`--kind: '${o.kind}' is not one of personal, service, ingest`])
      if (o.expiresDays !== undefined && !(o.expiresDays >= 1 && o.expiresDays <= 3650))
        throw new ConfigError(['--expires-days: between 1 and 3650'])
      await withStore(async (store) => {
        const created = await createToken(store, {
          name: o.name,
          kind: o.kind as TokenKind,
          role: o.role as Role,
          createdBy: 'signalbox token create',
          expiresInDays: o.expiresDays,
          scope: { flows: o.flows, channels: o.channels, systems: o.systems, sources: o.sources },
        })
        process.stderr.write(
          `token ${created.id} (${o.kind === 'ingest' ? 'ingest' : o.role}) created; it is shown once:\n`,
        )
        process.stdout.write(`${created.token}\n`)
      })
    },
  )

token
  .command('revoke <id>')
  .description('revoke a token: refused from the next request on')
  .action((id: string) =>
    withStore(async (store) => {
      if (!(await revokeToken(store, id))) throw new ConfigError([`no token '${id}'`])
      process.stderr.write(`token ${id} revoked\n`)
    }),
  )

const payloadKeys = program
  .command('payload-keys')
  .description(
    'the key ring that encrypts sensitive exception payload fields at rest (in embedded mode, run while Signalbox is stopped)',
  )

payloadKeys
  .command('new')
  .description('print a new key (id:base64) to put first in SIGNALBOX_PAYLOAD_KEYS')
  .action(() => {
    process.stdout.write(`${newKey()}\n`)
  })

payloadKeys
  .command('reencrypt')
  .description('re-encrypt every stored payload with the first key of the ring; then older keys can go')
  .action(() =>
    withStore(async (store, config) => {
      const { n, keyId } = await reencrypt(store, config)
      process.stderr.write(`${n} exception payloads re-encrypted with key ${keyId}\n`)
    }),
  )

payloadKeys
  .command('rotate')
  .description('with the key file in the data dir: add a new key first, then re-encrypt every stored payload')
  .action(() =>
    withStore(async (store, config) => {
      if (config.payloadKeys)
        throw new ConfigError([
          'SIGNALBOX_PAYLOAD_KEYS is set: put a new key first in it (`signalbox payload-keys new`), then run `signalbox payload-keys reencrypt`',
        ])
      const file = keyFileOf(config.dataDir)
      addKeyToFile(file)
      const { n, keyId } = await reencrypt(store, config)
      process.stderr.write(`key ${keyId} added to ${file}; ${n} exception payloads re-encrypted with it\n`)
    }),
  )

/** Every stored payload re-encrypted with the first key of the configured ring. */
async function reencrypt(store: Store, config: Config) {
  const vault = vaultFor(config)
  const n = await rewriteExceptionPayloads(store, (payload, id) => vault.rotate(payload, id))
  return { n, keyId: vault.currentKeyId }
}

/** Opens the store (and brings the schema up to date) for a one-off command. */
async function withStore(run: (store: Store, config: Config) => Promise<void>): Promise<void> {
  const config = loadConfig()
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel)
  const store = await openStore(config)
  try {
    await migrate(store, config.retentionDays, log)
    await run(store, config)
  } finally {
    await store.close()
  }
}

program
  .command('migrate')
  .description('apply pending schema migrations and the configured retention, then exit')
  .action(async () => {
    const config = loadConfig()
    const log = createLogger(config.logLevel)
    const store = await openStore(config)
    const applied = await migrate(store, config.retentionDays, log)
    log.info({ applied }, applied.length ? 'migrations applied' : 'schema already up to date')
    await store.close()
  })

program.parseAsync().catch((err: unknown) => {
  const { text, exitCode } = describeFailure(err, { verbose: Boolean(program.opts().verbose) })
  process.stderr.write(`signalbox: ${text}\n`)
  process.exit(exitCode)
})
