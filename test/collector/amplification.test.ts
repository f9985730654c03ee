import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * What a request becomes can be far larger than the request: a scope or a service name is copied into
 * every span under it, a resource into every log record. Every text a sender controls is cut to the
 * length limit, and a request whose rows would pass its bound (twice the body limit, here 2 MB) is
 * refused with 413 as its rows are made, leaving nothing behind.
 */

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_MAX_BODY_BYTES: '1000000', SIGNALBOX_QUEUE_MAX_BYTES: '8000000' })
})
afterAll(async () => {
  await sb?.close()
})

const MAX = 16_384
const long = (c: string) => c.repeat(MAX + 5_000)
const nowNs = (BigInt(Date.now()) * 1_000_000n).toString()
const str = (v: string) => ({ stringValue: v })

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${sb.collectorUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return {
    status: res.status,
    body: (await res.json()) as Record<string, { code?: string; message?: string; errorMessage?: string }>,
  }
}

const span = (traceId: string, spanId: string, extra: Record<string, unknown> = {}) => ({
  traceId,
  spanId,
  name: 'sync',
  kind: 3,
  startTimeUnixNano: nowNs,
  endTimeUnixNano: nowNs,
  ...extra,
})

describe('texts a sender controls', () => {
  it('cuts names, keys, scopes, trace states and the service name to the limit, and counts each', async () => {
    const traceId = 'a1'.repeat(16)
    const res = await post('/v1/traces', {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: str(long('s')) }] },
          scopeSpans: [
            {
              scope: { name: long('n'), version: long('v') },
              spans: [
                span(traceId, 'b1'.repeat(8), {
                  traceState: long('t'),
                  attributes: [{ key: long('k'), value: str('v') }],
                  events: [{ timeUnixNano: nowNs, name: long('e') }],
                  links: [{ traceId, spanId: 'c1'.repeat(8), traceState: long('l') }],
                }),
              ],
            },
          ],
        },
      ],
    })
    expect(res.status).toBe(200)
    // service name, scope name and version, trace state, key, event name, link trace state
    expect(res.body.partialSuccess?.errorMessage).toMatch(
      /^7 value\(s\) longer than 16384 characters truncated/,
    )
    const [row] = await sb.rows<Record<string, string>>(
      sql`SELECT length(service_name) AS service, length(scope_name) AS scope, length(scope_version) AS version,
            length(trace_state) AS state, length(mapKeys(attributes)[1]) AS akey,
            length(events[1].2) AS event, length(links[1].3) AS link
          FROM ${table(TABLES.spans)} WHERE trace_id = ${traceId}`,
    )
    expect(row).toEqual({
      service: String(MAX),
      scope: String(MAX),
      version: String(MAX),
      state: String(MAX),
      akey: String(MAX),
      event: String(MAX),
      link: String(MAX),
    })
  })

  it('never lets a cut key replace a key that was sent under that name', async () => {
    const traceId = 'a5'.repeat(16)
    const res = await post('/v1/traces', {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: str('cut-keys') }] },
          scopeSpans: [
            {
              spans: [
                span(traceId, 'b5'.repeat(8), {
                  attributes: [
                    { key: 'k'.repeat(MAX), value: str('sent') },
                    { key: `${'k'.repeat(MAX)}-longer`, value: str('cut') },
                    { key: `${'j'.repeat(MAX)}-first`, value: str('first') },
                    { key: `${'j'.repeat(MAX)}-second`, value: str('second') },
                  ],
                }),
              ],
            },
          ],
        },
      ],
    })
    expect(res.status).toBe(200)
    const [row] = await sb.rows<{ k: string; j: string; n: string }>(
      sql`SELECT attributes[${'k'.repeat(MAX)}] AS k, attributes[${'j'.repeat(MAX)}] AS j, length(attributes) AS n
          FROM ${table(TABLES.spans)} WHERE trace_id = ${traceId}`,
    )
    // The key sent whole keeps its value; of two keys cut to one name, the first is kept.
    expect(row).toEqual({ k: 'sent', j: 'first', n: '2' })
  })

  it("cuts a log record's severity, event name and scope", async () => {
    const res = await post('/v1/logs', {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: str('long-logs') }] },
          scopeLogs: [
            {
              scope: { name: long('n') },
              logRecords: [
                { timeUnixNano: nowNs, severityText: long('w'), eventName: long('e'), body: str('x') },
              ],
            },
          ],
        },
      ],
    })
    expect(res.status).toBe(200)
    const [row] = await sb.rows<Record<string, string>>(
      sql`SELECT length(severity_text) AS severity, length(event_name) AS event, length(scope_name) AS scope
          FROM ${table(TABLES.logs)} WHERE service_name = 'long-logs'`,
    )
    expect(row).toEqual({ severity: String(MAX), event: String(MAX), scope: String(MAX) })
  })
})

describe('rows far larger than their request', () => {
  it('refuses spans whose copies of a long scope and service name pass the bound, writing nothing', async () => {
    const traceId = 'a2'.repeat(16)
    const spans = Array.from({ length: 200 }, (_, i) =>
      span(traceId, (0x1000_0000_0000_0000n + BigInt(i)).toString(16)),
    )
    const res = await post('/v1/traces', {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: str('s'.repeat(MAX)) }] },
          scopeSpans: [{ scope: { name: 'n'.repeat(MAX), version: 'v'.repeat(MAX) }, spans }],
        },
      ],
    })
    expect(res.status).toBe(413)
    expect(res.body.error?.code).toBe('payload_too_large')
    expect(res.body.error?.message).toMatch(/200 spans take more than 2000000 bytes as rows/)
    const stored = await sb.rows<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.spans)} WHERE trace_id = ${traceId}`,
    )
    expect(stored).toEqual([{ n: '0' }])
  })

  it('refuses log records whose copies of a large resource pass the bound, writing nothing', async () => {
    const attributes = [
      { key: 'service.name', value: str('big-resource') },
      ...Array.from({ length: 20 }, (_, i) => ({ key: `attr.${i}`, value: str('r'.repeat(MAX)) })),
    ]
    const logRecords = Array.from({ length: 20 }, () => ({ timeUnixNano: nowNs, body: str('tiny') }))
    const res = await post('/v1/logs', {
      resourceLogs: [{ resource: { attributes }, scopeLogs: [{ logRecords }] }],
    })
    expect(res.status).toBe(413)
    expect(res.body.error?.message).toMatch(/20 log records take more than 2000000 bytes as rows/)
    const stored = await sb.rows<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.logs)} WHERE service_name = 'big-resource'`,
    )
    expect(stored).toEqual([{ n: '0' }])
    // The same resource with fewer records is well within the bound.
    const fewer = await post('/v1/logs', {
      resourceLogs: [{ resource: { attributes }, scopeLogs: [{ logRecords: logRecords.slice(0, 2) }] }],
    })
    expect(fewer.status).toBe(200)
  })

  it("refuses spans that each copy their resource's thousand business keys past the bound, writing nothing", async () => {
    // A 12 KB list of SKUs on the resource is within the attribute limit; each span under it adds the
    // thousand of them to the entity index.
    const skus = JSON.stringify(Array.from({ length: 1_000 }, (_, i) => `SKU-${100_000 + i}`))
    const request = (traceId: string, count: number) => ({
      resourceSpans: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: str('many-keys') },
              { key: 'retail.sku', value: str(skus) },
            ],
          },
          scopeSpans: [
            {
              spans: Array.from({ length: count }, (_, i) =>
                span(traceId, (0x2000_0000_0000_0000n + BigInt(i)).toString(16)),
              ),
            },
          ],
        },
      ],
    })
    const traceId = 'a3'.repeat(16)
    const res = await post('/v1/traces', request(traceId, 2_000))
    expect(res.status).toBe(413)
    expect(res.body.error?.message).toMatch(/business keys/)
    const stored = await sb.rows<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.entityIndex)} WHERE trace_id = ${traceId}`,
    )
    expect(stored).toEqual([{ n: '0' }])
    // A few spans under the same resource are indexed by every SKU.
    const fewTrace = 'a4'.repeat(16)
    expect((await post('/v1/traces', request(fewTrace, 2))).status).toBe(200)
    const indexed = await sb.rows<{ n: string }>(
      sql`SELECT uniqExact(entity_id) AS n FROM ${table(TABLES.entityIndex)} WHERE trace_id = ${fewTrace} AND entity_type = 'sku'`,
    )
    expect(indexed).toEqual([{ n: '1000' }])
  })
})
