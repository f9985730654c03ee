import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createToken } from '../../auth/tokens.ts'
import { run } from '../../cli/runtime.ts'
import { loadConfig } from '../../core/config.ts'
import { ConfigError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'
import { saveToken } from '../../store/queries/tokens.ts'
import { anyEvent, getAs } from '../support/auth.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
let admin: string
beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens' })
  admin = (await createToken(sb.store, { name: 'root', kind: 'personal', role: 'admin', createdBy: 'test' }))
    .token
})
afterAll(async () => {
  await sb?.close()
})

const postEvent = (token?: string) =>
  fetch(`${sb.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/cloudevents+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: anyEvent(`e-${Math.random()}`),
  })

describe('tokens', () => {
  it('are created by an admin, shown once, and listed without their secret', async () => {
    const res = await fetch(`${sb.apiUrl}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ana', kind: 'personal', role: 'support', expiresInDays: 30 }),
    })
    expect(res.status).toBe(201)
    const created = (await res.json()) as { id: string; token: string }
    expect(created.token).toMatch(/^sbx_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/)
    expect((await getAs(`${sb.apiUrl}/api/exceptions`, created.token)).status).toBe(200)
    const listed = await getAs(`${sb.apiUrl}/api/tokens`, admin)
    expect(listed.body).toContain('"name":"ana"')
    expect(listed.body).not.toContain(created.token.split('.')[1])
    // Used once just now: its last use is shown (to the minute); a token never used has none.
    type Listed = { tokens: Array<{ id: string; lastUsedAt: string | null }> }
    await expect
      .poll(async () => {
        const list = JSON.parse((await getAs(`${sb.apiUrl}/api/tokens`, admin)).body) as Listed
        return list.tokens.find((t) => t.id === created.id)?.lastUsedAt ?? null
      })
      .toMatch(/^\d{4}-\d\d-\d\dT/)
    const unused = await createToken(sb.store, {
      name: 'spare',
      kind: 'service',
      role: 'viewer',
      createdBy: 'test',
    })
    const list = JSON.parse((await getAs(`${sb.apiUrl}/api/tokens`, admin)).body) as Listed
    expect(list.tokens.find((t) => t.id === unused.id)?.lastUsedAt).toBeNull()
    const rows = await sb.rows<{ secret_hash: string }>({
      query: 'SELECT secret_hash FROM api_tokens',
      query_params: {},
    })
    expect(JSON.stringify(rows)).not.toContain(created.token.split('.')[1])
  })

  it('stop working at once when revoked or expired; a forged secret is refused', async () => {
    const { id, token } = await createToken(sb.store, {
      name: 'leaver',
      kind: 'personal',
      role: 'viewer',
      createdBy: 'test',
    })
    expect((await getAs(`${sb.apiUrl}/api/slos`, token)).status).toBe(200)
    const revoked = await fetch(`${sb.apiUrl}/api/tokens/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    })
    expect(revoked.status).toBe(200)
    const after = await getAs(`${sb.apiUrl}/api/slos`, token)
    expect(after).toMatchObject({ status: 401, body: expect.stringContaining('revoked') })

    const expired = await createToken(sb.store, {
      name: 'temp',
      kind: 'personal',
      role: 'viewer',
      createdBy: 'test',
      expiresInDays: 1,
    })
    const expiredId = expired.token.slice(4, 20)
    const [row] = await sb.rows<{ secret_hash: string }>({
      query: `SELECT secret_hash FROM api_tokens FINAL WHERE id = '${expiredId}'`,
      query_params: {},
    })
    await saveToken(sb.store, {
      id: expiredId,
      name: 'temp',
      kind: 'personal',
      role: 'viewer',
      secretHash: row?.secret_hash ?? '',
      createdBy: 'test',
      createdAtMs: Date.now() - 2 * 86_400_000,
      expiresAtMs: Date.now() - 1000,
      revokedAtMs: null,
      scope: '',
    })
    expect(await getAs(`${sb.apiUrl}/api/slos`, expired.token)).toMatchObject({
      status: 401,
      body: expect.stringContaining('expired'),
    })
    const forged = `${admin.split('.')[0]}.${'A'.repeat(43)}`
    expect((await getAs(`${sb.apiUrl}/api/slos`, forged)).status).toBe(401)
  })

  it('ingestion keys write telemetry and read nothing; other roles cannot write', async () => {
    const ingest = (
      await createToken(sb.store, { name: 'pos fleet', kind: 'ingest', role: 'admin', createdBy: 'test' })
    ).token
    const viewer = (
      await createToken(sb.store, { name: 'wallboard', kind: 'personal', role: 'viewer', createdBy: 'test' })
    ).token
    expect((await postEvent(ingest)).status).toBe(200)
    expect((await postEvent()).status).toBe(401)
    expect((await postEvent(viewer)).status).toBe(403)
    expect((await getAs(`${sb.apiUrl}/api/exceptions`, ingest)).status).toBe(403)
    expect((await getAs(`${sb.apiUrl}/api/slos`, ingest)).status).toBe(403)
    expect((await getAs(`${sb.collectorUrl}/metrics`, ingest)).status).toBe(403)
    expect((await getAs(`${sb.collectorUrl}/metrics`, viewer)).status).toBe(200)
  })

  it('an ingestion key limited to its sources writes for them only, and a refused request writes nothing', async () => {
    const { token } = await createToken(sb.store, {
      name: 'storefront-key',
      kind: 'ingest',
      role: 'ingest',
      createdBy: 'test',
      scope: { sources: ['urn:auth-test', 'storefront'] },
    })
    expect((await postEvent(token)).status).toBe(200)
    const foreign = await fetch(`${sb.collectorUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ ...JSON.parse(anyEvent('e-foreign')), source: 'urn:erp' }),
    })
    expect(foreign.status).toBe(403)
    expect(await foreign.text()).toContain("not for 'urn:erp'")
    const spans = (
      service: string,
      attributes: Array<{ key: string; value: { stringValue: string } }> = [],
    ) =>
      fetch(`${sb.collectorUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: '5b8efff798038103d269b633813fc60c',
                      spanId: 'eee19b7ec3c1b174',
                      name: 'checkout',
                      kind: 2,
                      startTimeUnixNano: `${BigInt(Date.now()) * 1_000_000n}`,
                      endTimeUnixNano: `${BigInt(Date.now() + 5) * 1_000_000n}`,
                      attributes,
                    },
                  ],
                },
              ],
            },
          ],
        }),
      })
    expect((await spans('erp')).status).toBe(403)
    expect((await spans('storefront')).status).toBe(200)
    // A span is its connector's too: one naming another connector would resolve, or open, its exceptions.
    const otherConnector = [{ key: 'integration.connector', value: { stringValue: 'erp' } }]
    expect((await spans('storefront', otherConnector)).status).toBe(403)
    const ownConnector = [{ key: 'integration.connector', value: { stringValue: 'storefront' } }]
    expect((await spans('storefront', ownConnector)).status).toBe(200)
    const report = await fetch(`${sb.apiUrl}/api/connectors`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        id: 'erp-sync',
        system: 'erp',
        flows: [],
        callbackUrl: 'http://127.0.0.1:9/cb',
      }),
    })
    expect(report.status).toBe(403)
    const written = await sb.rows<{ n: string }>({
      query:
        "SELECT (SELECT count() FROM business_events WHERE source = 'urn:erp') + (SELECT count() FROM spans WHERE service_name = 'erp') AS n",
      query_params: {},
    })
    expect(Number(written[0]?.n)).toBe(0)
  })

  it('an admin token limited to flows writes no telemetry: what it writes is not sorted by flow until stored', async () => {
    const { token } = await createToken(sb.store, {
      name: 'o2c-admin',
      kind: 'personal',
      role: 'admin',
      createdBy: 'test',
      scope: { flows: ['order-to-cash'] },
    })
    const res = await fetch(`${sb.collectorUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ ...JSON.parse(anyEvent('e-scoped-admin')), source: 'urn:scoped-admin' }),
    })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('ingestion key limited to sources')
    const written = await sb.rows<{ n: string }>({
      query: "SELECT count() AS n FROM business_events WHERE source = 'urn:scoped-admin'",
      query_params: {},
    })
    expect(written).toEqual([{ n: '0' }])
    // Nor at the api's writes for connectors: a registration (which could take a connector's callback
    // over) or an exception report.
    const post = (path: string, body: unknown) =>
      fetch(`${sb.apiUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      })
    const registration = await post('/api/connectors', {
      id: 'scoped-admin-conn',
      system: 'erp',
      flows: ['order-to-cash'],
      callbackUrl: 'http://127.0.0.1:9/cb',
    })
    expect(registration.status).toBe(403)
    const report = await post('/api/exceptions', {
      connector: 'scoped-admin-conn',
      flow: 'order-to-cash',
      step: 'sync',
      entity: { type: 'order', id: 'SO-SCOPED' },
      payload: {},
      error: { class: 'http_503', message: 'unavailable' },
    })
    expect(report.status).toBe(403)
    const connectors = await sb.rows<{ n: string }>({
      query: "SELECT count() AS n FROM connectors WHERE id = 'scoped-admin-conn'",
      query_params: {},
    })
    expect(connectors).toEqual([{ n: '0' }])
  })

  it('an ingestion key is limited by sources only: flows, channels or systems are refused, and one stored so writes nothing', async () => {
    const res = await fetch(`${sb.apiUrl}/api/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ name: 'o2c-key', kind: 'ingest', scope: { flows: ['order-to-cash'] } }),
    })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('limited by sources')
    // A key stored with such a scope (as an earlier version let one be made) does not write for everyone.
    const { token } = await createToken(sb.store, {
      name: 'old-key',
      kind: 'ingest',
      role: 'ingest',
      createdBy: 'test',
    })
    const id = token.slice(4, 20)
    const [row] = await sb.rows<{ secret_hash: string }>({
      query: `SELECT secret_hash FROM api_tokens FINAL WHERE id = '${id}'`,
      query_params: {},
    })
    await saveToken(sb.store, {
      id,
      name: 'old-key',
      kind: 'ingest',
      role: 'ingest',
      secretHash: row?.secret_hash ?? '',
      createdBy: 'test',
      createdAtMs: Date.now(),
      expiresAtMs: null,
      revokedAtMs: null,
      scope: JSON.stringify({ channels: ['web'] }),
    })
    const write = await fetch(`${sb.collectorUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ ...JSON.parse(anyEvent('e-channel-key')), source: 'urn:channel-key' }),
    })
    expect(write.status).toBe(403)
    const written = await sb.rows<{ n: string }>({
      query: "SELECT count() AS n FROM business_events WHERE source = 'urn:channel-key'",
      query_params: {},
    })
    expect(written).toEqual([{ n: '0' }])
  })

  it('the UI is served with security headers: no inline scripts, no framing, no sniffing', async () => {
    const res = await fetch(`${sb.apiUrl}/`)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin')
  })
})

describe('binding', () => {
  it('refuses to listen beyond loopback without authentication, and says how to fix it', async () => {
    const config = loadConfig(
      {
        SIGNALBOX_HOST: '0.0.0.0',
        SIGNALBOX_DATA_DIR: '/nonexistent/never-opened',
        SIGNALBOX_HTTP_PORT: '0',
      },
      { readDotEnv: false },
    )
    const started = run(['api'], config, createLogger('silent'))
    await expect(started).rejects.toBeInstanceOf(ConfigError)
    await expect(started).rejects.toThrow(
      /refusing to listen beyond loopback without authentication.*SIGNALBOX_AUTH=tokens/,
    )
  })
})

describe('the audit log', () => {
  it('records every operator and admin action with who, what, when and from where; reads are not actions', async () => {
    const operator = (
      await createToken(sb.store, {
        name: 'olga (on call)',
        kind: 'personal',
        role: 'operator',
        createdBy: 'test',
      })
    ).token
    const silence = await fetch(`${sb.apiUrl}/api/silences`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: ['slo = order_reaches_erp'],
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        createdBy: 'ignored',
        comment: 'maintenance',
      }),
    })
    expect(silence.status).toBe(201)
    const { id, createdBy } = ((await silence.json()) as { silence: { id: string; createdBy: string } })
      .silence
    expect(createdBy).toBe('olga (on call)') // the token's name, not the body's
    await fetch(`${sb.apiUrl}/api/silences/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${operator}` },
    })
    await getAs(`${sb.apiUrl}/api/silences`, operator)
    const audit = await getAs(`${sb.apiUrl}/api/audit`, admin)
    expect(audit.status).toBe(200)
    const entries = (JSON.parse(audit.body) as { entries: Array<Record<string, unknown>> }).entries.filter(
      (e) => e.actor === 'olga (on call)',
    )
    expect(entries.map((e) => [e.method, e.route, e.status])).toEqual([
      ['DELETE', 'DELETE /api/silences/:id', 200],
      ['POST', 'POST /api/silences', 201],
    ])
    expect(entries[0]).toMatchObject({
      role: 'operator',
      path: `/api/silences/${id}`,
      remote: expect.stringMatching(/127\.0\.0\.1/),
    })
    expect((await getAs(`${sb.apiUrl}/api/audit`, operator)).status).toBe(403)
  })
})
