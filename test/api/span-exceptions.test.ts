import { SpanKind } from '@opentelemetry/api'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exceptionsFromSpans } from '../../store/queries/exceptions.ts'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

const MINUTE = 60_000
// A connector that only sends OpenTelemetry: no exception reports, no registration.
const resource = resourceFromAttributes({
  'service.name': 'legacy-erp-bridge',
  'integration.connector': 'legacy-bridge',
})
let n = 0
const run = (orderId: string, atMs: number, error?: string) =>
  readableSpan({
    traceId: `${(++n).toString(16)}`.padStart(32, 'e'),
    spanId: `${n.toString(16)}`.padStart(16, 'e'),
    name: 'sync order_to_cash.post_sales_order',
    kind: SpanKind.CONSUMER,
    startMs: atMs,
    durationMs: 30,
    resource,
    attributes: {
      'integration.flow': 'order_to_cash',
      'integration.stage': 'erp_posted',
      'retail.order.id': orderId,
      ...(error ? { 'error.type': 'erp.http_503' } : {}),
    },
    error,
  })

describe('exceptions from spans', () => {
  it('turns an unreported, unsuperseded failed sync run into an exception that asks for a re-sync', async () => {
    const t = Date.now() - 10 * MINUTE
    const spans = [
      run('SX-1', t, 'ERP answered 503'),
      run('SX-1', t + MINUTE, 'ERP answered 503'),
      run('SX-2', t, 'ERP answered 503'),
      run('SX-2', t + 2 * MINUTE), // a later run succeeded: superseded, no exception
    ]
    const res = await fetch(`${sb.collectorUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: ProtobufTraceSerializer.serializeRequest(spans) as BodyInit,
    })
    expect(res.status).toBe(200)
    await exceptionsFromSpans(sb.store, new Date(t - MINUTE), new Date())
    await exceptionsFromSpans(sb.store, new Date(t - MINUTE), new Date()) // idempotent

    const list = (await (await fetch(`${sb.apiUrl}/api/exceptions?connector=legacy-bridge`)).json()) as {
      exceptions: Array<{
        id: string
        entity: { id: string }
        status: string
        occurrences: number
        payload: unknown
        error: { class: string }
        step: string
      }>
    }
    expect(list.exceptions.map((e) => e.entity.id)).toEqual(['SX-1'])
    expect(list.exceptions[0]).toMatchObject({
      step: 'post_sales_order',
      status: 'open',
      occurrences: 2,
      payload: null,
      error: { class: 'erp.http_503' },
    })
    const replay = await fetch(`${sb.apiUrl}/api/exceptions/${list.exceptions[0]?.id}/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signalbox-user': 'ops' },
      body: JSON.stringify({ reason: 'try' }),
    })
    expect(replay.status).toBe(409)
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('no_payload')
  })
})
