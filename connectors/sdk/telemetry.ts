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
 * A tracer of its own for one service, exporting OTLP/protobuf to the collector like any outside
 * service would. Not registered globally: several connectors and systems share a process in the demo.
 */
export function serviceTelemetry(
  collectorUrl: string,
  attributes: Record<string, string>,
  exporter?: SpanExporter,
  /** Sent with every export: the ingestion key when Signalbox requires one. */
  headers: Record<string, string> = {},
): ConnectorTelemetry {
  exporter ??= new OTLPTraceExporter({ url: `${collectorUrl}/v1/traces`, headers })
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(attributes),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  })
  return {
    tracer: provider.getTracer('signalbox-connector-sdk', '0.1.0'),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  }
}

/** A connector's telemetry: service `connector-<id>`, with `integration.connector` on every span. */
export function connectorTelemetry(options: {
  readonly connector: string
  readonly serviceName?: string
  readonly collectorUrl: string
  readonly exporter?: SpanExporter
  readonly headers?: Record<string, string>
}): ConnectorTelemetry {
  return serviceTelemetry(
    options.collectorUrl,
    {
      'service.name': options.serviceName ?? `connector-${options.connector}`,
      [INTEGRATION_ATTRIBUTES.connector]: options.connector,
    },
    options.exporter,
    options.headers,
  )
}
