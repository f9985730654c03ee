import { diag, ProxyTracerProvider, type Tracer, trace } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import { INTEGRATION_ATTRIBUTES } from '../../core/vocabulary.ts'
import { IntegrationSpanProcessor } from './integration.ts'

const SCOPE = { name: 'signalbox-connector-sdk', version: '0.1.0' }

export interface ConnectorTelemetry {
  readonly tracer: Tracer
  /** Exports every finished span now (tests and shutdown). */
  flush(): Promise<void>
  shutdown(): Promise<void>
}

/**
 * A tracer provider of its own for one service, exporting OTLP/protobuf to the collector like any
 * outside service would. Not registered globally: it is for processes that host many services, each
 * under its own `service.name` (the demo's simulated estate and its connectors, see connectors/demo.ts).
 * A real connector runs in its own process and uses the app's `NodeSDK` (`globalTelemetry`).
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
    spanProcessors: [
      new IntegrationSpanProcessor(),
      new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 }),
    ],
  })
  return {
    tracer: provider.getTracer(SCOPE.name, SCOPE.version),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  }
}

/** A connector's own provider: service `connector-<id>`, with `integration.connector` on the resource. */
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
      [ATTR_SERVICE_NAME]: options.serviceName ?? `connector-${options.connector}`,
      [INTEGRATION_ATTRIBUTES.connector]: options.connector,
    },
    options.exporter,
    options.headers,
  )
}

/** Whether the app registered a tracer provider (a started `NodeSDK` does). */
export function hasGlobalTracerProvider(): boolean {
  const registered = trace.getTracerProvider()
  // An unset global answers with the API's no-op provider, the one a fresh proxy delegates to.
  return (
    !(registered instanceof ProxyTracerProvider) ||
    registered.getDelegate() !== new ProxyTracerProvider().getDelegate()
  )
}

/**
 * The app's tracer provider (its `NodeSDK`): the connector's spans go wherever the app sends its own,
 * under the app's resource. The app owns the provider, so `shutdown` leaves it alone; `flush` asks it.
 */
export function globalTelemetry(): ConnectorTelemetry {
  const flushable = () => {
    const provider = trace.getTracerProvider()
    const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider
    return delegate as { forceFlush?: () => Promise<void> }
  }
  return {
    tracer: trace.getTracer(SCOPE.name, SCOPE.version),
    flush: async () => {
      await flushable().forceFlush?.()
    },
    shutdown: async () => {},
  }
}

let warned = false
/** Once per process: without the processor the app's CLIENT spans lack the system called. */
export function warnProcessorMissing(): void {
  if (warned) return
  warned = true
  diag.warn(
    'signalbox connector SDK: IntegrationSpanProcessor is not among the tracer provider’s span processors; ' +
      'calls traced by instrumentation-undici will lack integration.system and signalbox.call.retried',
  )
}
