import { request } from 'node:http'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiApp } from '../../api/app.ts'
import { errorHandler } from '../../core/http-errors.ts'
import { createLogger } from '../../core/logger.ts'
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

/**
 * A POST whose answer may come before the body is sent: the answer is read as soon as it arrives,
 * and the connection the server then closes is not an error (fetch would report one).
 */
function postUnread(path: string, body: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    let answered = false
    const req = request(`${sb.apiUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    })
    req.on('response', (res) => {
      answered = true
      const chunks: Buffer[] = []
      const done = () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) })
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', done)
      // The server closes the connection once it has answered; what arrived is the answer.
      res.on('error', done)
    })
    req.on('error', (err) => {
      if (!answered) reject(err)
    })
    // Writing the rest after the answer fails on the closed socket: expected, not an error here.
    req.on('socket', (socket) => socket.on('error', () => {}))
    req.end(body)
  })
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

  it('answers a read the store stopped at its time limit 503 with what to do, not 500', async () => {
    const app = new Hono().onError(errorHandler(createLogger('silent'))).get('/heavy', async (c) => {
      const rows = await sb.store.query(
        { query: 'SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 1', query_params: {} },
        { timeoutSeconds: 1 },
      )
      return c.json(rows)
    })
    const res = await app.request('/heavy')
    expect(res.status).toBe(503)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('query_timeout')
    expect(body.error.message).toMatch(/narrow/)
  })

  it('answers 413 to a 20 MB exception report, before reading it', async () => {
    const r = await postUnread('/api/exceptions', JSON.stringify({ payload: 'x'.repeat(20 * 1024 * 1024) }))
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
 * file), called in-process with hostile input: dates the engine cannot hold, repeated parameters,
 * huge steps and limits, wrong types, overlong strings, odd path segments and bodies. Input a route
 * reads and cannot accept must be a 4xx naming the parameter; anything else may be 2xx; an error is
 * always the one shape in the product's words, never a 5xx.
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
  /** Parameters some routes need, so that a hostile one beside them is what gets judged. */
  const BASE: Record<string, string> = { stage: 'captured', source: 'a', target: 'b', q: 'SO' }
  /**
   * Query strings, and whether a route that reads one of their parameters must refuse them (a name
   * means: when the route also reads that one; `step` and `stage` are also names of plain filters).
   */
  const HOSTILE_QUERIES: Array<[query: string, refused: boolean | string]> = [
    ['from=0000-01-01T00:00:00Z&to=0000-01-02T00:00:00Z', true],
    ['from=9999-12-30T00:00:00Z&to=9999-12-31T00:00:00Z', true],
    ['from=2262-04-12T00:00:00Z&to=2262-04-13T00:00:00Z', true],
    ['from=1969-12-31T12:00:00Z&to=1970-01-01T01:00:00Z', true],
    ['to=1970-01-01T00:00:00Z', true],
    ['from=-000001-01-01T00:00:00Z', true],
    ['from=not-a-date&to=2026-13-45T99:99:99Z', true],
    ['from=2026-02-30T00:00:00Z', true],
    ['from=2026-11-30T00:00:00Z&to=2026-11-30T00:00:00Z', true],
    ['from=2026-11-30T00:00:00Z&from=2026-11-29T00:00:00Z', true],
    ['step=999999d', 'from'],
    ['step=0m', 'from'],
    ['step=1s', 'from'],
    ['step=-5m', 'from'],
    ['step=99999999999999999999h', 'from'],
    ['step=1m&step=5m', 'from'],
    ['limit=5&limit=7', true],
    ['limit=-1', true],
    ['limit=0', true],
    ['limit=1e309', true],
    ['limit=99999999999999999999', true],
    ['limit=1.5', true],
    ['limit=abc', true],
    ['limit=', true],
    ['days=0', true],
    ['days=100000', true],
    ['days=NaN', true],
    ['days=1&days=2', true],
    ['q=x', true],
    [`q=${'x'.repeat(10_000)}`, true],
    ['q=%00%00', false],
    ['q=%ED%A0%80%ED%A0%80', false],
    ['q=%25%5F%2A', false],
    ['type=*', false],
    ['type=%', false],
    [`subject=${'s'.repeat(5000)}`, true],
    ['status=bogus', true],
    ['state=bogus', true],
    ['waiting=maybe', true],
    ['stage=nope', 'channel'],
    ['stage=captured&stage=erp_posted', true],
    ['location=', true],
    ['source=&target=', true],
    ['exception=%00&job=%00', false],
    ['channel=a&channel=b', true],
    ['returnTo=//evil.example', true],
    ['returnTo=https://evil.example/', true],
    ['connector[]=x', false],
    ['__proto__=x&constructor=y', false],
  ]
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n)
  const json = { 'content-type': 'application/json' }
  const report = (payload: string, text = 'SO-W') =>
    `{"connector":"walk","flow":"order_to_cash","step":"${text}","entity":{"type":"order","id":"${text}"},` +
    `"payload":${payload},"error":{"class":"${text}","message":"${text}"},"attempts":1,` +
    `"traceId":"${'a'.repeat(32)}","spanId":"${'b'.repeat(16)}"}`
  /** Bodies, and whether a route that documents a JSON body must refuse them. */
  const HOSTILE_BODIES: Array<
    [label: string, body: string | undefined, headers: Record<string, string>, refused: boolean]
  > = [
    ['no body', undefined, {}, false],
    ['text, not JSON', 'hello', { 'content-type': 'text/plain' }, false],
    ['broken JSON', '{"by": ', json, true],
    ['null', 'null', json, true],
    ['an array', '[]', json, true],
    ['a number', '42', json, true],
    ['an empty object', '{}', json, false],
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
        perMinute: -1,
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
      json,
      true,
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
      json,
      true,
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
      json,
      true,
    ],
    [
      'lone surrogates and NULs',
      JSON.stringify({ by: '\ud800', reason: '\u0000\udfff', comment: '\ud800', name: '\u0000' }),
      json,
      false,
    ],
    ['deep nesting', `{"payload": ${deep(50_000)}, "reason": ${deep(50_000)}}`, json, true],
    ['a report with a deep payload', report(deep(5_000)), json, false],
    ['a report with lone surrogates', report('{"\\ud800":"\\udfff"}', '\\ud800'), json, false],
  ]

  let built: ReturnType<typeof apiApp> | undefined
  const app = () => {
    built ??= apiApp(sb.store, sb.config, sb.log)
    return built
  }
  const routes = () => {
    const seen = new Set<string>()
    for (const r of app().routes) {
      if (r.method === 'ALL' || !/^\/(api|auth)\//.test(r.path)) continue
      seen.add(`${r.method} ${r.path}`)
    }
    return [...seen].map((key) => {
      const [method, path] = key.split(' ') as [string, string]
      return { method, path }
    })
  }
  /** What each route reads, from the OpenAPI document its own validators generate. */
  let documented: (method: string, path: string) => { query: Set<string>; body: boolean }
  beforeAll(async () => {
    type Operation = { parameters?: Array<{ in: string; name: string }>; requestBody?: unknown }
    const spec = (await (await app().request('/api/openapi.json')).json()) as {
      paths: Record<string, Record<string, Operation>>
    }
    documented = (method, path) => {
      const op = spec.paths[path.replace(/:([a-zA-Z]+)/g, '{$1}')]?.[method.toLowerCase()]
      const query = (op?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name)
      return { query: new Set(query), body: op?.requestBody !== undefined }
    }
  })

  const fill = (path: string, odd?: { name: string; value: string }) =>
    path.replace(/:([a-zA-Z]+)/g, (_, name: string) =>
      odd?.name === name ? odd.value : encodeURIComponent(SAMPLE[name] ?? 'x'),
    )
  const namesIn = (query: string) => query.split('&').map((p) => p.split('=')[0] as string)
  const withBase = (query: string) => {
    const given = new Set(namesIn(query))
    const base = Object.entries(BASE)
      .filter(([k]) => !given.has(k))
      .map(([k, v]) => `${k}=${v}`)
    return [query, ...base].filter(Boolean).join('&')
  }

  /** Calls and judges one request: 2xx, or 4xx in the product's shape and words. */
  async function judge(
    method: string,
    url: string,
    init: { body?: string; headers?: Record<string, string> },
  ) {
    const res = await app().request(url, { method, ...init })
    const text = await res.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {}
    const label = `${method} ${url.slice(0, 200)} ${init.body?.slice(0, 80) ?? ''}`
    expect(res.status, `${label} → ${text.slice(0, 500)}`).toBeLessThan(500)
    // The api answers JSON; the browser's sign-in pages (/auth) may answer a page.
    if (res.status >= 400 && (url.startsWith('/api/') || typeof body === 'object'))
      expectProductError(res.status, body, label)
    return { status: res.status, body }
  }

  it('finds the routes from the app itself', () => {
    const keys = routes().map((r) => `${r.method} ${r.path}`)
    expect(keys).toContain('GET /api/flows/:flow/metrics')
    expect(keys).toContain('POST /api/exceptions')
    expect(keys.length).toBeGreaterThan(30)
    // What each reads comes from the OpenAPI document: were it not found, nothing would be required.
    expect([...documented('GET', '/api/flows/:flow/metrics').query].sort()).toEqual(['from', 'step', 'to'])
    expect(documented('POST', '/api/silences').body).toBe(true)
    expect(documented('POST', '/api/exceptions').body).toBe(true)
  })

  it('refuses hostile query parameters a route reads, naming them, and never fails on the others', async () => {
    for (const { method, path } of routes()) {
      const reads = documented(method, path).query
      const init = method === 'GET' ? {} : { body: '{}', headers: json }
      for (const [q, refused] of HOSTILE_QUERIES) {
        const r = await judge(method, `${fill(path)}?${withBase(q)}`, init)
        const hostile = namesIn(q).filter((n) => reads.has(n))
        if (!refused || hostile.length === 0 || (typeof refused === 'string' && !reads.has(refused))) continue
        expect(r.status, `${method} ${path}?${q.slice(0, 100)}`).toBeGreaterThanOrEqual(400)
        const message = (r.body as { error: { message: string } }).error.message
        expect(
          hostile.some((n) => message.startsWith(`${n}:`)),
          `${method} ${path}?${q.slice(0, 100)}: ${message}`,
        ).toBe(true)
      }
    }
    // A walk of every route × every hostile query, one request at a time: it grows with the routes.
  }, 240_000)

  it('answers odd path parameters on every route with 2xx or a 4xx in its own words', async () => {
    for (const { method, path } of routes()) {
      const names = [...path.matchAll(/:([a-zA-Z]+)/g)].map((m) => m[1] as string)
      const init = method === 'GET' ? {} : { body: '{}', headers: json }
      for (const name of names)
        for (const value of ODD_SEGMENTS)
          await judge(method, `${fill(path, { name, value })}?${withBase('')}`, init)
    }
  })

  it('refuses hostile bodies on every route that takes one, and never fails on the others', async () => {
    for (const { method, path } of routes().filter((r) => r.method !== 'GET')) {
      const takesBody = documented(method, path).body
      for (const [label, body, headers, refused] of HOSTILE_BODIES) {
        const r = await judge(method, fill(path), { body, headers })
        if (refused && takesBody) expect(r.status, `${method} ${path}: ${label}`).toBeGreaterThanOrEqual(400)
      }
    }
  })

  it('refuses a body over the limit on every route that could take one, before reading it (413)', async () => {
    const big = JSON.stringify({ reason: 'x'.repeat(2 * 1024 * 1024) })
    for (const { method, path } of routes().filter((r) => r.method !== 'GET' && r.path.startsWith('/api/'))) {
      const r = await judge(method, fill(path), { body: big, headers: json })
      expect(r.status, `${method} ${path}`).toBe(413)
    }
  })

  it('refuses every route without a token, in the same shape, when authentication is on', async () => {
    const guarded = apiApp(sb.store, { ...sb.config, auth: 'tokens' }, sb.log)
    for (const { method, path } of routes()) {
      if (!path.startsWith('/api/') || path === '/api/health') continue
      const res = await guarded.request(fill(path), { method })
      const body = (await res.json()) as unknown
      expectProductError(res.status, body, `${method} ${path}`)
      expect(res.status).toBe(401)
    }
  })
})
