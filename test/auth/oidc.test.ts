import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { roleFromClaims } from '../../auth/oidc.ts'
import { createToken } from '../../auth/tokens.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import {
  freePort,
  sessionCookieOf,
  signInThrough,
  startProvider,
  type TestProvider,
} from '../support/oidc.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
let provider: TestProvider
beforeAll(async () => {
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  provider = await startProvider({
    clientId: 'signalbox',
    redirectUri: `${publicUrl}/auth/callback`,
    groups: { alice: ['sre', 'everyone'], carol: ['support-desk'], bob: ['marketing'], erin: ['sre'] },
    claims: { erin: { signalbox_flows: ['return_to_refund'] } },
  })
  sb = await startSignalbox({
    SIGNALBOX_HTTP_PORT: String(port),
    SIGNALBOX_PUBLIC_URL: publicUrl,
    SIGNALBOX_OIDC_ISSUER: provider.issuer,
    SIGNALBOX_OIDC_CLIENT_ID: 'signalbox',
    SIGNALBOX_OIDC_SCOPES: 'openid email profile groups',
    SIGNALBOX_OIDC_ROLES: 'sre=operator, support-desk=support, everyone=viewer',
    SIGNALBOX_OIDC_SCOPE_CLAIMS: 'flows=signalbox_flows',
  })
})
afterAll(async () => {
  await sb?.close()
  await provider?.close()
})

/** A request from a signed-in browser: its cookie, and the CSRF token when given. */
const asBrowser = (
  path: string,
  cookie: string,
  init: { method?: string; csrf?: string; json?: unknown } = {},
) =>
  fetch(`${sb.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      cookie,
      ...(init.csrf === undefined ? {} : { 'x-csrf-token': init.csrf }),
      ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  })

async function signIn(user: string) {
  const callback = await signInThrough(sb.apiUrl, user, '/#/exceptions')
  const cookie = sessionCookieOf(callback)
  const session = cookie
    ? ((await (await asBrowser('/auth/session', cookie)).json()) as {
        authenticated: boolean
        name: string
        role: string
        csrfToken: string
      })
    : undefined
  return { callback, cookie, session }
}

const silence = {
  matchers: ['slo = erp_calls_succeed'],
  endsAt: new Date(Date.now() + 3_600_000).toISOString(),
  comment: 'ERP maintenance',
}

describe('single sign-on against a real OpenID provider', () => {
  it('signs an SRE in with authorization code + PKCE, and maps their group to a role', async () => {
    const { callback, cookie, session } = await signIn('alice')
    expect(callback.status).toBe(302)
    expect(callback.headers.get('location')).toBe('/#/exceptions')
    const set = callback.headers.getSetCookie().find((l) => l.startsWith('signalbox_session='))
    expect(set).toMatch(/HttpOnly/i)
    expect(set).toMatch(/SameSite=Lax/i)
    expect(set).toMatch(/Path=\//)
    expect(session).toMatchObject({ authenticated: true, name: 'alice@example.com', role: 'operator' })
    expect((await asBrowser('/api/exceptions', cookie as string)).status).toBe(200)
    // The session is stored hashed, like a token: its secret is not in the store.
    const rows = await sb.rows<{ name: string; kind: string; role: string; secret_hash: string }>(
      sql`SELECT name, kind, role, secret_hash FROM ${table(TABLES.apiTokens)} FINAL WHERE kind = 'session'`,
    )
    expect(rows).toContainEqual(expect.objectContaining({ name: 'alice@example.com', role: 'operator' }))
    expect(JSON.stringify(rows)).not.toContain((cookie as string).split('.')[1])
  })

  it('refuses a change from the browser without its CSRF token, and records who made it with one', async () => {
    const { cookie, session } = await signIn('alice')
    const c = cookie as string
    expect((await asBrowser('/api/silences', c, { method: 'POST', json: silence })).status).toBe(403)
    const forged = await asBrowser('/api/silences', c, {
      method: 'POST',
      json: silence,
      csrf: 'x'.repeat(43),
    })
    expect(forged.status).toBe(403)
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('csrf')
    const ok = await asBrowser('/api/silences', c, {
      method: 'POST',
      json: silence,
      csrf: session?.csrfToken,
    })
    expect(ok.status).toBe(201)
    expect(((await ok.json()) as { silence: { createdBy: string } }).silence.createdBy).toBe(
      'alice@example.com',
    )
    // A CSRF token belongs to its session: another user's does not pass.
    const other = await signIn('alice')
    const crossed = await asBrowser('/api/silences', c, {
      method: 'POST',
      json: silence,
      csrf: other.session?.csrfToken,
    })
    expect(crossed.status).toBe(403)
  })

  it('gives support what support may do, and nothing more', async () => {
    const { cookie, session } = await signIn('carol')
    expect(session?.role).toBe('support')
    expect((await asBrowser('/api/exceptions', cookie as string)).status).toBe(200)
    const refused = await asBrowser('/api/silences', cookie as string, {
      method: 'POST',
      json: silence,
      csrf: session?.csrfToken,
    })
    expect(refused.status).toBe(403)
  })

  it('limits a user to the flows a claim names, and leaves one without the claim unlimited', async () => {
    const erin = await signIn('erin')
    expect(erin.session).toMatchObject({ role: 'operator', scope: { flows: ['return_to_refund'] } })
    const flows = (await (await asBrowser('/api/flows', erin.cookie as string)).json()) as {
      flows: Array<{ name: string }>
    }
    expect(flows.flows.map((f) => f.name)).toEqual(['return_to_refund'])
    expect((await asBrowser('/api/flows/order_to_cash/stuck', erin.cookie as string)).status).toBe(403)
    const alice = await signIn('alice')
    expect((alice.session as unknown as { scope: object }).scope).toEqual({})
  })

  it('refuses a user none of whose groups maps to a role', async () => {
    const { callback, cookie } = await signIn('bob')
    expect(callback.status).toBe(403)
    expect(await callback.text()).toContain('no Signalbox role')
    expect(cookie).toBeUndefined()
  })

  it('refuses an ID token issued for another application, and an expired one', async () => {
    for (const tamper of ['wrong-audience', 'expired'] as const) {
      provider.tamper = tamper
      try {
        const { callback, cookie } = await signIn('alice')
        expect(callback.status, tamper).toBe(401)
        expect(cookie, tamper).toBeUndefined()
      } finally {
        provider.tamper = 'none'
      }
    }
  })

  it('refuses a callback that this browser did not start, and a return address on another site', async () => {
    const res = await fetch(`${sb.apiUrl}/auth/callback?code=stolen&state=guessed`, { redirect: 'manual' })
    expect(res.status).toBe(401)
    expect(sessionCookieOf(res)).toBeUndefined()
    const away = await fetch(`${sb.apiUrl}/auth/login?returnTo=${encodeURIComponent('//evil.example')}`, {
      redirect: 'manual',
    })
    expect(away.status).toBe(400)
  })

  it('ends the session at sign-out: the cookie is refused from the next request on', async () => {
    const { cookie, session } = await signIn('alice')
    const c = cookie as string
    expect((await asBrowser('/auth/logout', c, { method: 'POST' })).status).toBe(403)
    expect((await asBrowser('/auth/logout', c, { method: 'POST', csrf: session?.csrfToken })).status).toBe(
      204,
    )
    expect((await asBrowser('/api/exceptions', c)).status).toBe(401)
    expect(await (await asBrowser('/auth/session', c)).json()).toMatchObject({
      authenticated: false,
      sso: true,
    })
  })

  it('keeps tokens and sessions apart: a token is no cookie, a session no bearer token', async () => {
    const { token } = await createToken(sb.store, {
      name: 'ci',
      kind: 'service',
      role: 'admin',
      createdBy: 'test',
    })
    expect((await asBrowser('/api/exceptions', `signalbox_session=${token}`)).status).toBe(401)
    const { cookie } = await signIn('alice')
    const value = (cookie as string).split('=')[1]
    const res = await fetch(`${sb.apiUrl}/api/exceptions`, { headers: { authorization: `Bearer ${value}` } })
    expect(res.status).toBe(401)
  })
})

describe('roles from claims', () => {
  const settings = {
    roleClaim: 'groups',
    roles: { sre: 'operator', admins: 'admin', desk: 'support' } as const,
  }

  it('takes the highest role any value maps to, from a list or a single value', () => {
    expect(roleFromClaims({ groups: ['desk', 'sre'] }, settings)).toBe('operator')
    expect(roleFromClaims({ groups: ['admins', 'desk'] }, settings)).toBe('admin')
    expect(roleFromClaims({ groups: 'desk' }, settings)).toBe('support')
  })

  it('falls back to the default role, or to none', () => {
    expect(roleFromClaims({ groups: ['other'] }, settings)).toBeUndefined()
    expect(roleFromClaims({}, { ...settings, defaultRole: 'viewer' })).toBe('viewer')
    expect(roleFromClaims({ groups: [1, null] }, settings)).toBeUndefined()
  })
})
