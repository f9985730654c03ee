import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** The collector's own health, served at `/metrics` in Prometheus text format. */
export class CollectorMetrics {
  readonly registry = new Registry()
  readonly received = new Counter({
    name: 'signalbox_collector_received_total',
    help: 'Items (spans, log records, events) in requests that reached the collector.',
    labelNames: ['signal', 'protocol'] as const,
    registers: [this.registry],
  })
  readonly accepted = new Counter({
    name: 'signalbox_collector_accepted_total',
    help: 'Items acknowledged to the sender: durably written to the store.',
    labelNames: ['signal'] as const,
    registers: [this.registry],
  })
  readonly rejected = new Counter({
    name: 'signalbox_collector_rejected_total',
    help: 'Items refused for their time outside the retained window (reason outside_retention): spans and logs inside an accepted request, told in its partial success; events with their whole request (400). Requests refused for any cause are signalbox_collector_refused_requests_total.',
    labelNames: ['signal', 'reason'] as const,
    registers: [this.registry],
  })
  readonly redactions = new Counter({
    name: 'signalbox_collector_redactions_total',
    help: 'Personal data removed before storing, by kind (key, email, phone, card, iban).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })
  readonly duplicates = new Counter({
    name: 'signalbox_collector_duplicate_events_total',
    help: 'Business events dropped because the same source+id was already stored.',
    registers: [this.registry],
  })
  readonly duplicateSpans = new Counter({
    name: 'signalbox_collector_duplicate_spans_total',
    help: 'Spans dropped because the same trace id, span id and service were already stored (client retries).',
    registers: [this.registry],
  })
  readonly traceLookups = new Counter({
    name: 'signalbox_collector_trace_lookups_total',
    help: "Exactly-once checks of a trace in a span request: settled by the collector's filter of written traces (fresh) or read from the store.",
    labelNames: ['via'] as const,
    registers: [this.registry],
  })
  readonly writtenTraces = new Gauge({
    name: 'signalbox_collector_written_traces',
    help: 'Trace ids in the filter of traces stored since yesterday (embedded engine only: 0 until it is loaded, and in server mode). Past about 13 million, more exactly-once checks go to the store.',
    registers: [this.registry],
  })
  readonly admittedBytes = new Gauge({
    name: 'signalbox_collector_admitted_bytes',
    help: 'Bytes of request bodies being read and decoded: bounded by a quarter of SIGNALBOX_QUEUE_MAX_BYTES, past which requests are refused (429).',
    registers: [this.registry],
  })
  readonly queued = new Gauge({
    name: 'signalbox_collector_queued_rows',
    help: 'Rows waiting to be written, per table.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  })
  readonly flushed = new Counter({
    name: 'signalbox_collector_flushed_rows_total',
    help: 'Rows written to the store, per table.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  })
  readonly flushFailures = new Counter({
    name: 'signalbox_collector_flush_failures_total',
    help: 'Batches the store refused; their senders were told to retry.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  })
  readonly dataRefusals = new Counter({
    name: 'signalbox_collector_store_data_refusals_total',
    help: 'Requests whose rows the store refused for their data (found by splitting the batch); answered 400, the rest of the batch written.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  })
  readonly refusedRequests = new Counter({
    name: 'signalbox_collector_refused_requests_total',
    help: 'Requests answered with an error, by signal, status (HTTP, or the HTTP equivalent of a gRPC code) and reason.',
    labelNames: ['signal', 'transport', 'status', 'reason'] as const,
    registers: [this.registry],
  })
  readonly repaired = new Counter({
    name: 'signalbox_collector_repaired_total',
    help: 'Values repaired rather than refused, by kind (lone_surrogate: replaced by U+FFFD; truncated: cut to the attribute length limit).',
    labelNames: ['signal', 'kind'] as const,
    registers: [this.registry],
  })
  readonly contractViolations = new Counter({
    name: 'signalbox_collector_contract_violations_total',
    help: "Business events whose data broke their type's contract (docs/event-contracts.md), by type, version, source and outcome (stored under a warn policy, rejected under reject).",
    labelNames: ['type', 'version', 'source', 'outcome'] as const,
    registers: [this.registry],
  })
  readonly flushLatency = new Histogram({
    name: 'signalbox_collector_flush_duration_seconds',
    help: 'Time to write one batch to the store.',
    labelNames: ['table'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })

  constructor({ processMetrics = true } = {}) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'signalbox_' })
  }
}
