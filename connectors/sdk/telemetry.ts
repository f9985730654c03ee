import type { Tracer } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { INTEGRATION_ATTRIBUTES } from '../../core/vocabulary.ts'

export interface ConnectorTelemetry {
  readonly tracer: Tracer
  /** Exports every finished span now (tests and shutdown). */
  flush(): Promise<void>
  shutdown(): Promise<void>
}

/**
 * A tracer of the connector's own, exporting OTLP/protobuf to the collector like any outside
 * connector would. Not registered globally: several connectors share a process in the demo.
 */
export function connectorTelemetry(options: {
  readonly connector: string
  readonly serviceName?: string
  readonly collectorUrl: string
  readonly exporter?: SpanExporter
}): ConnectorTelemetry {
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: `${options.collectorUrl}/v1/traces` })
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': options.serviceName ?? `connector-${options.connector}`,
      [INTEGRATION_ATTRIBUTES.connector]: options.connector,
    }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  })
  return {
    tracer: provider.getTracer('signalbox-connector-sdk', '0.1.0'),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  }
}
