import { Presets, SingleBar } from 'cli-progress'
import { startDemo } from '../demo.ts'
import type { Order } from '../order-to-cash/order.ts'
import { SCENARIOS } from './scenarios.ts'

export interface LoadOptions {
  readonly scenario: string
  readonly collectorUrl: string
  readonly apiUrl: string
  readonly seconds: number
  readonly ordersPerMinute: number
  readonly seed: number
}

export interface LoadReport {
  readonly scenario: string
  readonly seconds: number
  readonly orderWebhooks: { readonly sent: number; readonly accepted: number }
  readonly syncRuns: { readonly succeeded: number; readonly failed: number }
  readonly businessEvents: {
    readonly sent: number
    readonly failed: number
    readonly acknowledgedBySignalbox: number
    readonly duplicatesDropped: number
  }
  readonly openExceptions: number
}

/** A counter from the collector's Prometheus text: what Signalbox says it acknowledged. */
async function collectorCounter(collectorUrl: string, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`${collectorUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(label))
  return Number(line?.split(' ').pop() ?? 0)
}

/**
 * Drives a named scenario against a running Signalbox through the simulated estate and the real
 * connectors, showing progress, and reports what was sent beside what Signalbox acknowledged. The run
 * is bounded in time; the estate lives on loopback and stops with it.
 */
export async function runLoad(
  options: LoadOptions,
  out: NodeJS.WritableStream = process.stderr,
): Promise<LoadReport> {
  const scenario = SCENARIOS[options.scenario]
  if (!scenario)
    throw new Error(
      `unknown scenario '${options.scenario}'; choose one of: ${Object.keys(SCENARIOS).join(', ')}`,
    )
  const demo = await startDemo({
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    ordersPerMinute: 0,
    seed: options.seed,
    // Connectors of its own: the running demo's keep their registrations (and their replays).
    connectorIdSuffix: '-load',
    // A scenario is the conditions it names: the demo's standing troubles stay out of it.
    incidents: false,
  })
  const eventsBefore = await collectorCounter(
    options.collectorUrl,
    'signalbox_collector_accepted_total',
    'signal="events"',
  )
  const duplicatesBefore = await collectorCounter(
    options.collectorUrl,
    'signalbox_collector_duplicate_events_total',
  )
  const webhooks = { sent: 0, accepted: 0 }
  const place = async (order?: Order) => {
    webhooks.sent++
    try {
      const { status } = await demo.estate.storefront.placeOrder(demo.webhookUrl, order)
      if (status === 202) webhooks.accepted++
    } catch {
      // the intake is down: counted as sent, not accepted
    }
  }
  const bar = new SingleBar(
    {
      format: `${scenario.name} [{bar}] {value}/{total} s | orders {orders}`,
      stream: out,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 1000,
    },
    Presets.shades_classic,
  )
  bar.start(options.seconds, 0, { orders: 0 })
  const perSecond = options.ordersPerMinute / 60
  let carry = 0
  for (let s = 0; s < options.seconds; s++) {
    const started = Date.now()
    // Fractional rates accumulate so that 30/min places one order every other second.
    carry += perSecond
    const whole = Math.floor(carry)
    carry -= whole
    await scenario.tick(demo, s / options.seconds, whole, place)
    bar.update(s + 1, { orders: webhooks.sent })
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - started))))
  }
  await scenario.finish?.(demo, place)
  bar.stop()
  // Every event is counted once its send has ended: nothing may start or still be sending meanwhile.
  await demo.quiesce()
  const connectors = [
    demo.orderToCash,
    demo.fulfilment,
    demo.inventorySync,
    demo.returnToRefund,
    demo.pricingSync,
    demo.procureToReceive,
  ]
  // Under a storm the collector may still be refusing (429/503, retryable): the spans it did not take
  // are the exporter's to retry, not a reason to lose the report.
  await Promise.allSettled(connectors.map((c) => c.telemetry.flush()))
  const sum = (f: (c: (typeof connectors)[number]) => number) => connectors.reduce((n, c) => n + f(c), 0)
  const exceptions = (await (
    await fetch(`${options.apiUrl}/api/exceptions?status=open&limit=1000`)
  ).json()) as { exceptions: unknown[] }
  const report: LoadReport = {
    scenario: scenario.name,
    seconds: options.seconds,
    orderWebhooks: webhooks,
    syncRuns: { succeeded: sum((c) => c.runs.succeeded), failed: sum((c) => c.runs.failed) },
    businessEvents: {
      // Batches and deploys too: a scheduled run may start in the middle of a load run.
      ...demo.eventCounts(),
      acknowledgedBySignalbox:
        (await collectorCounter(
          options.collectorUrl,
          'signalbox_collector_accepted_total',
          'signal="events"',
        )) - eventsBefore,
      duplicatesDropped:
        (await collectorCounter(options.collectorUrl, 'signalbox_collector_duplicate_events_total')) -
        duplicatesBefore,
    },
    openExceptions: exceptions.exceptions.length,
  }
  await demo.close()
  return report
}
