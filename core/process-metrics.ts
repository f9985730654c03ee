import { collectDefaultMetrics, Registry } from 'prom-client'

/**
 * A registry with this process's own metrics (CPU, memory, heap, event-loop lag, handles), named
 * `signalbox_process_*` and `signalbox_nodejs_*` as on the collector's `/metrics`.
 */
export function processRegistry(): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'signalbox_' })
  return registry
}
