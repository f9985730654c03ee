import { Command } from 'commander'
import { runLoad } from '../connectors/load/run.ts'
import { SCENARIOS } from '../connectors/load/scenarios.ts'
import { loadConfig } from '../core/config.ts'
import { ConfigError } from '../core/errors.ts'
import { createLogger } from '../core/logger.ts'
import { migrate } from '../store/migrate.ts'
import { addAdminCommands } from './admin/commands.ts'
import { openStoreForCli } from './admin/reach.ts'
import { addEventCommands } from './events.ts'
import { CliError, describeFailure, engineHolder } from './failure.ts'
import { loadTarget } from './load-target.ts'
import { type Part, run, stopOnSignals } from './runtime.ts'
import { addSloCommands } from './slo.ts'

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
    const holder = engineHolder(err, config.dataDir)
    if (holder)
      throw new CliError(
        `the embedded store in ${config.dataDir} is in use by process ${holder}`,
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
  .option(
    '--collector <url>',
    'the collector (OTLP/HTTP and CloudEvents); default: where `start` listens, from SIGNALBOX_HOST and SIGNALBOX_OTLP_HTTP_PORT',
  )
  .option(
    '--api <url>',
    'the api; default: where `start` listens, from SIGNALBOX_HOST and SIGNALBOX_HTTP_PORT',
  )
  .option('--seed <n>', 'seed of the simulated estate', (v) => Number.parseInt(v, 10), 42)
  .action(
    async (o: {
      scenario: string
      seconds: number
      rate: number
      collector?: string
      api?: string
      seed: number
    }) => {
      if (!SCENARIOS[o.scenario])
        throw new ConfigError([
          `--scenario: '${o.scenario}' is not one of ${Object.keys(SCENARIOS).join(', ')}`,
        ])
      if (!(o.seconds > 0 && o.seconds <= 3600)) throw new ConfigError(['--seconds: between 1 and 3600'])
      // A seed that is not a number would become 0 for every simulator alike, silently.
      if (!Number.isSafeInteger(o.seed)) throw new ConfigError(['--seed: a whole number'])
      if (!(o.rate >= 0 && o.rate <= 60_000))
        throw new ConfigError(['--rate: between 0 and 60000 orders a minute'])
      const { collectorUrl, apiUrl } = await loadTarget(loadConfig(), o)
      const report = await runLoad({
        scenario: o.scenario,
        collectorUrl,
        apiUrl,
        seconds: o.seconds,
        ordersPerMinute: o.rate,
        seed: o.seed,
      })
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    },
  )

addAdminCommands(program)
addSloCommands(program)
addEventCommands(program)

program
  .command('migrate')
  .description('apply pending schema migrations and the configured retention, then exit')
  .action(async () => {
    const config = loadConfig()
    const log = createLogger(config.logLevel)
    const store = await openStoreForCli(config)
    const applied = await migrate(store, config.retentionDays, log)
    log.info({ applied }, applied.length ? 'migrations applied' : 'schema already up to date')
    await store.close()
  })

program.parseAsync().catch((err: unknown) => {
  const { text, exitCode } = describeFailure(err, { verbose: Boolean(program.opts().verbose) })
  process.stderr.write(`signalbox: ${text}\n`)
  process.exit(exitCode)
})
