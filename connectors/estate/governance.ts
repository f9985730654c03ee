import { SpanKind } from '@opentelemetry/api'
import { CloudEvent, emitterFor, type Message, Mode } from 'cloudevents'
import { INTEGRATION_EVENTS } from '../../core/vocabulary.ts'
import { InFlight } from '../sdk/in-flight.ts'
import { type ConnectorTelemetry, serviceTelemetry } from '../sdk/telemetry.ts'

/**
 * What the Catalog page has to show in the demo: a deploy pipeline that ships a new version of a
 * connector now and then (`retail.integration.deployed`), and a service some team runs that nobody
 * put in the catalog (an unowned integration): a loyalty-points export reading the CRM.
 */

/** The releases the pipeline ships, in turn: each connector's next version. */
const RELEASES: ReadonlyArray<readonly [integration: string, versions: readonly string[]]> = [
  ['return-to-refund', ['1.8.0', '1.8.1', '1.9.0']],
  ['order-to-cash', ['2.4.0', '2.4.1', '2.5.0']],
  ['pricing-sync', ['0.9.3', '1.0.0']],
  ['inventory-sync', ['3.1.2', '3.2.0']],
]

export const DEPLOY_PIPELINE_SOURCE = 'urn:signalbox:demo:deploy-pipeline'
export const UNOWNED_SERVICE = 'loyalty-export'

export class GovernanceActivity {
  private deploys = 0
  /** Deploy events the collector acknowledged, and sends that failed, for load reports. */
  readonly eventCounts = { sent: 0, failed: 0 }
  private readonly sending = new InFlight()
  private readonly shadow: ConnectorTelemetry
  private readonly emit: ReturnType<typeof emitterFor>

  constructor(
    collectorUrl: string,
    headers: Record<string, string> = {},
    /** Appended to the integrations deployed, like the connectors' ids (`-load`). */
    private readonly suffix = '',
  ) {
    this.shadow = serviceTelemetry(
      collectorUrl,
      { 'service.name': `${UNOWNED_SERVICE}${suffix}`, 'service.version': '0.3.0' },
      undefined,
      headers,
    )
    const transport = async (message: Message) => {
      const res = await fetch(`${collectorUrl}/v1/events`, {
        method: 'POST',
        headers: { ...(message.headers as Record<string, string>), ...headers },
        body: message.body as string,
      })
      await res.arrayBuffer()
      if (!res.ok) throw new Error(`the collector answered ${res.status}`)
    }
    this.emit = emitterFor(transport, { mode: Mode.STRUCTURED })
  }

  /** The pipeline ships the next release; the demo carries on if the collector refuses it. */
  deploy(now = new Date()): Promise<{ integration: string; version: string }> {
    return this.sending.track(this.sendDeploy(now))
  }

  /** Resolves once no deploy event is being sent. */
  settled(): Promise<void> {
    return this.sending.settled()
  }

  private async sendDeploy(now: Date): Promise<{ integration: string; version: string }> {
    const n = this.deploys++
    const [integration, versions] = RELEASES[n % RELEASES.length] as (typeof RELEASES)[number]
    const round = Math.floor(n / RELEASES.length)
    const version = versions[Math.min(round, versions.length - 1)] as string
    const id = `${integration}${this.suffix}`
    await this.emit(
      new CloudEvent({
        specversion: '1.0',
        id: `deploy-${id}-${version}-${now.getTime()}`,
        source: DEPLOY_PIPELINE_SOURCE,
        type: INTEGRATION_EVENTS.deployed,
        subject: id,
        time: now.toISOString(),
        datacontenttype: 'application/json',
        data: { integration: id, version },
      }),
    ).then(
      () => this.eventCounts.sent++,
      () => this.eventCounts.failed++,
    )
    return { integration: id, version }
  }

  /** One run of the export nobody catalogued: a call to the CRM, traced under its own service. */
  exportPoints(): void {
    const span = this.shadow.tracer.startSpan('export loyalty points', {
      kind: SpanKind.CLIENT,
      attributes: { 'integration.system': 'crm', 'http.request.method': 'GET' },
    })
    span.end()
  }

  close(): Promise<void> {
    return this.shadow.shutdown()
  }
}
