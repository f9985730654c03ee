import { Command } from 'commander'
import { loadConfig } from '../core/config.ts'
import { ConfigError } from '../core/errors.ts'
import { createLogger } from '../core/logger.ts'
import { openStore } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'
import { type Part, run, stopOnSignals } from './runtime.ts'

const program = new Command()
  .name('signalbox')
  .description(
    'Integration observability and control plane for retail: order, inventory and return lifecycles.',
  )
  .showHelpAfterError()

async function serveParts(parts: Part[], { serverOnly = false } = {}): Promise<void> {
  const config = loadConfig()
  if (serverOnly && !config.clickhouse.url) {
    // The embedded engine lives inside one process; running parts apart needs a shared server.
    throw new ConfigError([
      'CLICKHOUSE_URL: required to run a part on its own; use `signalbox start` for the embedded all-in-one',
    ])
  }
  stopOnSignals(await run(parts, config))
}

program
  .command('start')
  .description(
    'all-in-one: collector (OTLP 4318/4317, CloudEvents) and api (8080) in one process on the embedded store',
  )
  .option('--no-demo', 'do not run the simulated retail estate and its connectors')
  .action((options: { demo: boolean }) =>
    serveParts(options.demo ? ['collector', 'api', 'demo'] : ['collector', 'api']),
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
  if (err instanceof ConfigError) {
    process.stderr.write(`signalbox: ${err.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`signalbox: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
