import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiApp } from '../../api/app.ts'
import { expectProductError } from '../support/errors.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(`${sb.apiUrl}${path}`, init)
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, body }
}

const errorOf = (body: unknown) => (body as { error: { code: string; message: string } }).error

describe('errors a user can cause, in the product’s words', () => {
  it.each([
    '/api/flows/order_to_cash/metrics?from=0000-01-01T00:00:00Z&to=0000-01-02T00:00:00Z',
    '/api/systems/map?from=0000-01-01T00:00:00Z&to=0000-01-01T12:00:00Z',
    '/api/events?from=0000-01-01T00:00:00Z&to=0000-01-02T00:00:00Z',
    '/api/flows/order_to_cash/entities?stage=captured&from=9999-12-30T00:00:00Z&to=9999-12-31T00:00:00Z',
  ])(
    'answers 400 naming the parameter and the accepted range for a date the engine cannot hold: %s',
    async (path) => {
      const r = await call(path)
      expectProductError(r.status, r.body, path)
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe('invalid_parameter')
      expect(r.body.error.message).toMatch(/^(from|to): /)
      expect(r.body.error.message).toContain('1970-01-01T00:00:00Z')
    },
  )

  it('names `to` when the default `from` before it would fall outside the accepted range', async () => {
    const r = await call('/api/systems/map?to=1970-01-01T06:00:00Z')
    expectProductError(r.status, r.body)
    expect(r.body.error.message).toMatch(/^to: /)
  })

  it('refuses a step longer than the range instead of answering buckets at 1970', async () => {
    const r = await call('/api/flows/order_to_cash/metrics?step=999999d')
    expectProductError(r.status, r.body)
    expect(r.status).toBe(400)
    expect(r.body.error.message).toMatch(/^step: /)
  })

  it.each([
    ['/api/events?limit=5&limit=7', 'limit'],
    ['/api/exceptions?status=open&status=ignored', 'status'],
    ['/api/flows/order_to_cash/metrics?from=2026-11-30T00:00:00Z&from=2026-11-29T00:00:00Z', 'from'],
  ])('refuses a parameter given twice: %s', async (path, name) => {
    const r = await call(path)
    expectProductError(r.status, r.body)
    expect(r.status).toBe(400)
    expect(r.body.error.message).toBe(`${name}: given twice; send it once`)
  })

  it.each(['abc', '1e309', '1.5', '-1', ''])(
    'says what a limit must be, not what the parser got: limit=%s',
    async (v) => {
      const r = await call(`/api/events?limit=${v}`)
      expectProductError(r.status, r.body)
      expect(r.body.error.message).toMatch(/^limit: must be a whole number from 1 to 1000/)
    },
  )

  it('answers 413 to a 20 MB exception report, before reading it', async () => {
    const r = await call('/api/exceptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: 'x'.repeat(20 * 1024 * 1024) }),
    })
    expectProductError(r.status, r.body)
    expect(r.status).toBe(413)
    expect(r.body.error.code).toBe('payload_too_large')
  })

  it('answers 413 to an exception report over its own limit', async () => {
    const r = await call('/api/exceptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: 'x'.repeat(300 * 1024) }),
    })
    expect(r.status).toBe(413)
    expect(errorOf(r.body).code).toBe('payload_too_large')
  })

  it('answers 400 invalid_json to a body that is not JSON, on any route that takes one', async () => {
    for (const path of ['/api/silences', '/api/exceptions', '/api/connectors', '/api/exceptions/replay']) {
      const r = await call(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"matchers": [',
      })
      expectProductError(r.status, r.body, path)
      expect(r.body.error.code, path).toBe('invalid_json')
    }
  })
})

/*
 * Every route of the app, found from the app itself (a new route is walked without touching this
 * file), called with hostile input: dates the engine cannot hold, repeated parameters, huge steps
 * and limits, wrong types, overlong strings, odd path parameters and bodies. Each answer is 2xx
 * (the input was acceptable) or 4xx in the one error shape, in the product's words; never a 5xx.
 */
describe('every route, with hostile input', () => {
  /** A value for each path parameter that gets past it, so the rest of the input is judged. */
  const SAMPLE: Record<string, string> = {
    flow: 'order_to_cash',
    type: 'order',
    action: 'pause',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    sku: 'SKU-1',
    id: 'x',
  }
  const ODD_SEGMENTS = [
    'a\'b"c;--',
    '%00',
    '%',
    '%ED%A0%80',
    '..%2F..%2Fetc',
    '%E2%98%83%F0%9F%92%A5',
    'x'.repeat(5000),
    '%20',
    'null',
    '-1',
    '1e309',
  ]
  /** Parameters a route needs, so that a hostile one beside them is what gets judged. */
  const BASE: Record<string, string> = { stage: 'captured', source: 'a', target: 'b', q: 'SO' }
  const HOSTILE_QUERIES = [
    'from=0000-01-01T00:00:00Z&to=0000-01-02T00:00:00Z',
    'from=9999-12-30T00:00:00Z&to=9999-12-31T00:00:00Z',
    'from=2262-04-12T00:00:00Z&to=2262-04-13T00:00:00Z',
    'from=1969-12-31T12:00:00Z&to=1970-01-01T01:00:00Z',
    'to=1970-01-01T00:00:00Z',
    'from=-000001-01-01T00:00:00Z',
    'from=not-a-date&to=2026-13-45T99:99:99Z',
    'from=2026-11-30T00:00:00Z&to=2026-11-30T00:00:00Z',
    'from=2026-11-30T00:00:00Z&from=2026-11-29T00:00:00Z',
    'step=999999d',
    'step=0m',
    'step=1s',
    'step=-5m',
    'step=99999999999999999999h',
    'step=1m&step=5m',
    'limit=5&limit=7',
    'limit=-1',
    'limit=0',
    'limit=1e309',
    'limit=99999999999999999999',
    'limit=1.5',
    'limit=abc',
    'limit=',
    'days=0',
    'days=100000',
    'days=NaN',
    'days=1&days=2',
    'q=x',
    `q=${'x'.repeat(10_000)}`,
    'q=%00%00',
    'q=%ED%A0%80%ED%A0%80',
    'q=%25%5F%2A',
    'type=*',
    'type=%',
    `subject=${'s'.repeat(5000)}`,
    'status=bogus',
    'state=bogus',
    'waiting=maybe',
    'stage=nope',
    'stage=captured&stage=erp_posted',
    'location=',
    'source=&target=',
    'exception=%00&job=%00',
    'channel=a&channel=b',
    'returnTo=//evil.example',
    'returnTo=https://evil.example/',
    'connector[]=x',
    '__proto__=x&constructor=y',
  ]
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n)
  const HOSTILE_BODIES: Array<[string, BodyInit | undefined, Record<string, string>]> = [
    ['no body', undefined, {}],
    ['text, not JSON', 'hello', { 'content-type': 'text/plain' }],
    ['broken JSON', '{"by": ', { 'content-type': 'application/json' }],
    ['null', 'null', { 'content-type': 'application/json' }],
    ['an array', '[]', { 'content-type': 'application/json' }],
    ['a number', '42', { 'content-type': 'application/json' }],
    ['an empty object', '{}', { 'content-type': 'application/json' }],
    [
      'every field the wrong type',
      JSON.stringify({
        by: 1,
        reason: {},
        comment: [],
        payload: null,
        approvedBy: 7,
        filter: 'all',
        dryRun: 'yes',
        perMinute: Number.POSITIVE_INFINITY,
        matchers: 'slo = x',
        startsAt: 5,
        endsAt: true,
        name: [],
        kind: 'root',
        role: 'god',
        expiresInDays: -1,
        scope: 'everything',
        connector: {},
        flow: 1,
        step: null,
        entity: 'SO-1',
        error: 'boom',
        attempts: 'many',
        traceId: 'x',
        spanId: 'y',
        id: 'UPPER CASE',
        system: 5,
        flows: 'order_to_cash',
        callbackUrl: 'javascript:alert(1)',
        steps: {},
      }),
      { 'content-type': 'application/json' },
    ],
    [
      'dates the engine cannot hold',
      JSON.stringify({
        matchers: ['slo = x'],
        startsAt: '0000-01-01T00:00:00Z',
        endsAt: '9999-12-31T23:59:59Z',
        comment: 'c',
        by: 'walker',
        reason: 'r',
        dryRun: true,
        filter: { from: '0000-01-01T00:00:00Z', to: '9999-12-31T00:00:00Z' },
      }),
      { 'content-type': 'application/json' },
    ],
    [
      'overlong strings',
      JSON.stringify({
        by: 'b'.repeat(100_000),
        reason: 'r'.repeat(100_000),
        comment: 'c'.repeat(100_000),
        name: 'n'.repeat(100_000),
        matchers: ['slo = x'.repeat(10_000)],
        endsAt: '2099-01-01T00:00:00Z',
      }),
      { 'content-type': 'application/json' },
    ],
    [
      'lone surrogates and NULs',
      JSON.stringify({ by: '\ud800', reason: '\u0000\udfff', comment: '\ud800', name: '\u0000' }),
      { 'content-type': 'application/json' },
    ],
    [
      'deep nesting',
      `{"payload": ${deep(50_000)}, "reason": ${deep(50_000)}}`,
      { 'content-type': 'application/json' },
    ],
    ['2 MB', JSON.stringify({ reason: 'x'.repeat(2 * 1024 * 1024) }), { 'content-type': 'application/json' }],
  ]

  const routes = () => {
    const app = apiApp(sb.store, sb.config, sb.log)
    const seen = new Set<string>()
    for (const r of app.routes) {
      if (r.method === 'ALL' || !/^\/(api|auth)\//.test(r.path)) continue
      seen.add(`${r.method} ${r.path}`)
    }
    return [...seen].map((key) => {
      const [method, path] = key.split(' ') as [string, string]
      return { method, path }
    })
  }
  const fill = (path: string, odd?: { name: string; value: string }) =>
    path.replace(/:([a-zA-Z]+)/g, (_, name: string) =>
      odd?.name === name ? odd.value : encodeURIComponent(SAMPLE[name] ?? 'x'),
    )
  const withBase = (query: string) => {
    const given = new Set(query.split('&').map((p) => p.split('=')[0]))
    const base = Object.entries(BASE)
      .filter(([k]) => !given.has(k))
      .map(([k, v]) => `${k}=${v}`)
    return [query, ...base].join('&')
  }

  /** Calls and judges one request: 2xx, or 4xx in the product's shape and words. */
  async function judge(method: string, url: string, body?: BodyInit, headers: Record<string, string> = {}) {
    const r = await call(url, { method, body, headers })
    const label = `${method} ${url.slice(0, 200)}`
    expect(r.status, `${label} ${JSON.stringify(r.body).slice(0, 500)}`).toBeLessThan(500)
    if (r.status >= 400 && url.startsWith('/api/')) expectProductError(r.status, r.body, label)
    if (r.status >= 400 && typeof r.body === 'object') expectProductError(r.status, r.body, label)
    return r.status
  }

  it('finds the routes from the app itself', () => {
    const keys = routes().map((r) => `${r.method} ${r.path}`)
    expect(keys).toContain('GET /api/flows/:flow/metrics')
    expect(keys).toContain('POST /api/exceptions')
    expect(keys.length).toBeGreaterThan(30)
  })

  it('answers hostile query strings on every route with 2xx or a 4xx in its own words', async () => {
    for (const { method, path } of routes()) {
      const body = method === 'GET' ? undefined : '{}'
      const headers: Record<string, string> = method === 'GET' ? {} : { 'content-type': 'application/json' }
      for (const q of HOSTILE_QUERIES) await judge(method, `${fill(path)}?${withBase(q)}`, body, headers)
    }
  })

  it('answers odd path parameters on every route with 2xx or a 4xx in its own words', async () => {
    for (const { method, path } of routes()) {
      const names = [...path.matchAll(/:([a-zA-Z]+)/g)].map((m) => m[1] as string)
      const body = method === 'GET' ? undefined : '{}'
      const headers: Record<string, string> = method === 'GET' ? {} : { 'content-type': 'application/json' }
      for (const name of names)
        for (const value of ODD_SEGMENTS)
          await judge(method, `${fill(path, { name, value })}?${withBase('')}`, body, headers)
    }
  })

  it('answers hostile bodies on every route that takes one with 2xx or a 4xx in its own words', async () => {
    for (const { method, path } of routes().filter((r) => r.method !== 'GET')) {
      for (const [, body, headers] of HOSTILE_BODIES) await judge(method, fill(path), body, headers)
    }
  })

  it('refuses every route without a token, in the same shape, when authentication is on', async () => {
    const app = apiApp(sb.store, { ...sb.config, auth: 'tokens' }, sb.log)
    for (const { method, path } of routes()) {
      if (!path.startsWith('/api/') || path === '/api/health') continue
      const res = await app.request(fill(path), { method })
      const body = (await res.json()) as unknown
      expectProductError(res.status, body, `${method} ${path}`)
      expect(res.status).toBe(401)
    }
  })
})
