import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createToken } from '../../auth/tokens.ts'
import { loadConfig } from '../../core/config.ts'
import { createLogger } from '../../core/logger.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

// Planted secrets: each must never appear in a log line or an answer.
const CALLBACK_SECRET = `whsec_${randomBytes(32).toString('base64')}`
const HASH_KEY = `planted-hash-key-${randomBytes(16).toString('hex')}`
const PAYLOAD_KEY = randomBytes(32).toString('base64')
const CLIENT_SECRET = `planted-client-secret-${randomBytes(8).toString('hex')}`
const CUSTOMER_EMAIL = 'planted.customer@example.org'
const FORGED = `sbx_${'0'.repeat(16)}.${randomBytes(32).toString('base64url')}`

const lines: string[] = []
const answers: string[] = []
let sb: TestSignalbox
let secrets: string[]
beforeAll(async () => {
  const capture = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  sb = await startSignalbox(
    {
      SIGNALBOX_AUTH: 'tokens',
      SIGNALBOX_CALLBACK_SECRET: CALLBACK_SECRET,
      SIGNALBOX_HASH_KEY: HASH_KEY,
      SIGNALBOX_PAYLOAD_KEYS: `k1:${PAYLOAD_KEY}`,
      // A provider that is not there: sign-in fails, and says why in the log.
      SIGNALBOX_OIDC_ISSUER: 'http://127.0.0.1:9/',
      SIGNALBOX_OIDC_CLIENT_ID: 'signalbox',
      SIGNALBOX_OIDC_CLIENT_SECRET: CLIENT_SECRET,
      SIGNALBOX_OIDC_ROLES: 'sre=operator',
    },
    createLogger('trace', capture),
  )
  const admin = await createToken(sb.store, {
    name: 'root',
    kind: 'personal',
    role: 'admin',
    createdBy: 'test',
  })
  const ingest = await createToken(sb.store, {
    name: 'erp',
    kind: 'ingest',
    role: 'ingest',
    createdBy: 'test',
  })
  const support = await createToken(sb.store, {
    name: 'desk',
    kind: 'personal',
    role: 'support',
    createdBy: 'test',
  })
  secrets = [
    CALLBACK_SECRET,
    HASH_KEY,
    PAYLOAD_KEY,
    CLIENT_SECRET,
    CUSTOMER_EMAIL,
    FORGED.split('.')[1] as string,
  ]
  for (const t of [admin, ingest, support]) secrets.push(t.token.split('.')[1] as string)

  const call = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, { redirect: 'manual', ...init })
    answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`)
    return res.status
  }
  const as = (token: string, json?: unknown) => ({
    method: json === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  })
  // Everything that handles a secret: tokens made, used, forged, refused; personal data reported
  // and read back masked; an API token created through the api; a sign-in that fails.
  await call(`${sb.apiUrl}/api/slos`, as(FORGED))
  await call(`${sb.apiUrl}/api/tokens`, as(support.token))
  await call(`${sb.apiUrl}/api/tokens`, as(admin.token, { name: 'ci', kind: 'service', role: 'viewer' }))
  await call(
    `${sb.apiUrl}/api/exceptions`,
    as(ingest.token, {
      connector: 'order-to-cash',
      flow: 'order_to_cash',
      step: 'post_sales_order',
      entity: { type: 'order', id: 'SO-SECRET-1' },
      payload: { orderId: 'SO-SECRET-1', customer: { email: CUSTOMER_EMAIL } },
      sensitive: ['customer.email'],
      error: { class: 'erp.http_422', message: `rejected customer ${CUSTOMER_EMAIL}` },
      attempts: 1,
      traceId: 'c'.repeat(32),
      spanId: 'd'.repeat(16),
    }),
  )
  await call(`${sb.apiUrl}/api/exceptions`, as(support.token))
  await call(`${sb.apiUrl}/api/exceptions`, as(ingest.token))
  await call(`${sb.apiUrl}/api/exceptions/nope/replay`, as(admin.token, { reason: 'x' }))
  await call(`${sb.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${FORGED}`, 'content-type': 'application/cloudevents+json' },
    body: '{}',
  })
  await call(`${sb.apiUrl}/auth/login`)
  await call(`${sb.apiUrl}/auth/callback?code=${CLIENT_SECRET}&state=x`)
  await call(`${sb.apiUrl}/api/exceptions`, { headers: { cookie: `signalbox_session=${FORGED}` } })
})
afterAll(async () => {
  await sb?.close()
})

describe('secrets and personal data stay out of logs and answers', () => {
  it('logged what happened, at every level', () => {
    expect(lines.length).toBeGreaterThan(5)
    expect(lines.join('')).toContain('the OpenID provider could not be reached')
    expect(answers).toHaveLength(11)
  })

  it('never writes a planted secret or personal value to the log', () => {
    const log = lines.join('')
    for (const secret of secrets) expect(log, secret.slice(0, 12)).not.toContain(secret)
  })

  it('never puts one in an answer', () => {
    const all = answers.join('\n')
    for (const secret of secrets) expect(all, secret.slice(0, 12)).not.toContain(secret)
  })

  it('refuses bad secret settings without echoing them', () => {
    const planted = 'planted-not-base64-secret!!'
    for (const env of [
      { SIGNALBOX_CALLBACK_SECRET: planted },
      { SIGNALBOX_PAYLOAD_KEYS: `k1:${planted}` },
      { SIGNALBOX_HASH_KEY: 'short-planted' },
    ]) {
      let message = ''
      try {
        loadConfig(env, { readDotEnv: false })
      } catch (err) {
        message = (err as Error).message
      }
      expect(message).not.toBe('')
      expect(message).not.toContain('planted')
    }
  })
})
