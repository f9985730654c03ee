import { hostname } from 'node:os'
import type { Registry } from 'prom-client'
import { loadBatches } from '../core/batches.ts'
import { loadCatalog } from '../core/catalog.ts'
import type { Config } from '../core/config.ts'
import { loadFlows } from '../core/flows.ts'
import type { Logger } from '../core/logger.ts'
import type { Store } from '../store/client.ts'
import { loadAlerting } from './config.ts'
import { startEvaluator } from './evaluator.ts'
import { EvaluatorMetrics } from './evaluator-metrics.ts'
import { DELIVERY_RETRY } from './notify.ts'
import { loadSlos } from './spec.ts'

/**
 * The alert evaluator as a part of `signalbox start` or `signalbox alerts`: SLOs and rules are read and
 * validated here, at start; a mistake stops start-up with the file, the line and the problem.
 */
export function startAlerts(
  store: Store,
  config: Pick<Config, 'configDir' | 'publicUrl'>,
  log: Logger,
  metrics?: Registry,
) {
  const flows = loadFlows(config.configDir)
  const catalog = loadCatalog(config.configDir, flows)
  const slos = loadSlos(config.configDir, flows, catalog)
  const alerting = loadAlerting(config.configDir, flows)
  const holder = `${hostname()}:${process.pid}`
  log.info(
    { slos: slos.length, rules: alerting.rules.length, everyMs: alerting.intervalMs, holder },
    'alert evaluator running',
  )
  return startEvaluator({
    store,
    slos,
    flows,
    batches: loadBatches(config.configDir),
    catalog,
    alerting,
    log,
    env: process.env,
    retry: DELIVERY_RETRY,
    publicUrl: config.publicUrl,
    holder,
    metrics: metrics && new EvaluatorMetrics(metrics),
  })
}
