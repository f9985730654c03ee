import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** The evaluator's own health on `/metrics`: its ticks, the alerts they leave and the notifications sent. */
export class EvaluatorMetrics {
  readonly evaluations: Counter<'outcome'>
  readonly duration: Histogram
  readonly alerts: Gauge<'state'>
  readonly deliveries: Counter<'channel' | 'outcome'>

  constructor(registry: Registry) {
    const registers = [registry]
    this.evaluations = new Counter({
      name: 'signalbox_alerts_evaluations_total',
      help: 'Evaluation ticks, by outcome: leader (this process evaluated), standby (another holds the lease), failed.',
      labelNames: ['outcome'],
      registers,
    })
    this.duration = new Histogram({
      name: 'signalbox_alerts_evaluation_duration_seconds',
      help: 'Time one evaluation tick took: every SLO and rule read, states saved, notifications sent.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    this.alerts = new Gauge({
      name: 'signalbox_alerts_instances',
      help: 'Alert instances by state after the last evaluation this process led.',
      labelNames: ['state'],
      registers,
    })
    this.deliveries = new Counter({
      name: 'signalbox_alerts_notification_attempts_total',
      help: 'Notification delivery attempts, by channel and outcome (delivered, retrying, failed, not_configured).',
      labelNames: ['channel', 'outcome'],
      registers,
    })
  }
}
