import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { buffer } from 'node:stream/consumers'
import { trace } from '@opentelemetry/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BusinessEvents } from '../../connectors/sdk/events.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { until } from '../support/until.ts'

/*
 * The connector SDK's business events against the real collector: a refusal that says "retry" (429,
 * 503 with Retry-After) is retried with the same event id, so the event is stored once; a refusal for
 * the event itself is not retried.
 */

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

const span = trace.wrapSpanContext({
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: 1,
})

async function refusedEvents(status: string): Promise<number> {
  const text = await (await fetch(`${sb.collectorUrl}/metrics`)).text()
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('signalbox_collector_refused_requests_total{') &&
        l.includes('signal="events"') &&
        l.includes(`status="${status}"`),
    )
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
}

const storedWithId = async (id: string) =>
  (await sb.rows<{ n: string }>(sql`SELECT count() AS n FROM ${table(TABLES.events)} WHERE id = ${id}`))[0]?.n

describe('business events from a connector', () => {
  it('are sent again, with the same id, while the collector asks for a retry, and stored once', async () => {
    const events = new BusinessEvents(sb.collectorUrl, 'urn:test:events', 'events-test')
    await sb.store.command(`DETACH TABLE ${TABLES.events}`)
    let sending: Promise<void> | undefined
    try {
      sending = events.send(span, 'ret-1:refund:retail.return.refund_issued', {
        type: 'retail.return.refund_issued',
        subject: 'RET-1',
        extensions: { orderid: 'ORD-1' },
      })
      // Awaited below; should the wait for a refusal time out first, not an unhandled rejection.
      sending.catch(() => {})
      // Refused at least once (503, Retry-After: 1) while the table is gone.
      await until(
        () => refusedEvents('503'),
        (n) => n >= 1,
        { what: 'a 503 for the event', intervalMs: 20 },
      )
    } finally {
      await sb.store.command(`ATTACH TABLE ${TABLES.events}`)
    }
    await sending
    expect(events.counts).toEqual({ sent: 1, failed: 0 })
    expect(await storedWithId('ret-1:refund:retail.return.refund_issued')).toBe('1')
  })

  it('are stored once when the acknowledgement is lost and the event sent again', async () => {
    // Between the connector and the collector, a link that drops the first answer after the
    // collector has written the event: the connector sees no answer and sends it again.
    let forwarded = 0
    const lossy = createServer(async (req, res) => {
      const body = await buffer(req)
      const answer = await fetch(`${sb.collectorUrl}${req.url}`, {
        method: req.method,
        headers: { 'content-type': String(req.headers['content-type']) },
        body,
      })
      const text = await answer.text()
      if (forwarded++ === 0) return req.socket.destroy()
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text)
    })
    await new Promise<void>((resolve) => lossy.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(lossy.address() as AddressInfo).port}`
      const events = new BusinessEvents(url, 'urn:test:events', 'events-test')
      await events.send(span, 'ord-2:post:retail.order.erp_posted', {
        type: 'retail.order.erp_posted',
        subject: 'ORD-2',
        extensions: { orderid: 'ORD-2' },
      })
      expect(forwarded).toBe(2)
      expect(events.counts).toEqual({ sent: 1, failed: 0 })
      expect(await storedWithId('ord-2:post:retail.order.erp_posted')).toBe('1')
    } finally {
      lossy.closeAllConnections()
      await new Promise((resolve) => lossy.close(resolve))
    }
  })

  it('are not sent again when the collector refuses the event itself', async () => {
    const events = new BusinessEvents(sb.collectorUrl, 'urn:test:events', 'events-test')
    const before = await refusedEvents('400')
    // A subject far over the collector's limit: a 400, for the event, not for the moment.
    await expect(
      events.send(span, 'bad-1', { type: 'retail.return.received', subject: 'x'.repeat(100_000) }),
    ).rejects.toThrow(/400/)
    expect(events.counts).toEqual({ sent: 0, failed: 1 })
    expect((await refusedEvents('400')) - before).toBe(1)
  })
})
