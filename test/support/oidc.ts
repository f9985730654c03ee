import { generateKeyPairSync } from 'node:crypto'
import type { Server } from 'node:http'
import { createServer } from 'node:net'
import { decodeJwt, importJWK, type JWK, SignJWT } from 'jose'
import Provider from 'oidc-provider'

/** A port free now, for a server whose URL must be known before it starts (redirect URIs). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

/** How the test provider spoils its next ID tokens, re-signed with its own key. */
export type Tamper = 'none' | 'wrong-audience' | 'expired'

export interface TestProvider {
  readonly issuer: string
  tamper: Tamper
  close(): Promise<void>
}

/**
 * A real OpenID provider (`oidc-provider`) on loopback, with its development login pages: any user
 * name signs in, and the accounts' groups are given here. Groups are a userinfo claim (the default
 * for a code flow), so the client must fetch them. `tamper` rewrites the ID token of the next token
 * responses, signed with the provider's own key, to test the client's checks.
 */
export async function startProvider(options: {
  clientId: string
  redirectUri: string
  groups: Record<string, string[]>
  /** More claims per user, released with the `groups` scope. */
  claims?: Record<string, Record<string, unknown>>
}): Promise<TestProvider> {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'test-key', alg: 'RS256', use: 'sig' }
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        token_endpoint_auth_method: 'none',
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['test cookie key, not a secret'] },
    ttl: {
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      AccessToken: 600,
      IdToken: 600,
      AuthorizationCode: 60,
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups', 'signalbox_flows'] },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        email: `${id}@example.com`,
        name: id,
        groups: options.groups[id] ?? [],
        ...options.claims?.[id],
      }),
    }),
  })
  // The provider answers its own errors with a bare 500: say why, so a failing sign-in test shows it.
  provider.on('server_error', (_ctx: unknown, err: Error) =>
    console.error('oidc-provider server error:', err),
  )
  const state = { tamper: 'none' as Tamper }
  const key = await importJWK(jwk, 'RS256')
  provider.use(async (ctx, next) => {
    await next()
    const body = ctx.body as { id_token?: string } | undefined
    if (ctx.path !== '/token' || state.tamper === 'none' || !body?.id_token) return
    const claims = decodeJwt(body.id_token)
    const now = Math.floor(Date.now() / 1000)
    const changed =
      state.tamper === 'wrong-audience'
        ? { ...claims, aud: 'another-application' }
        : { ...claims, iat: now - 7200, exp: now - 3600 }
    body.id_token = await new SignJWT(changed).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).sign(key)
  })
  const server: Server = await new Promise((resolve) => {
    const s = provider.listen(port, '127.0.0.1', () => resolve(s))
  })
  return {
    issuer,
    get tamper() {
      return state.tamper
    },
    set tamper(t: Tamper) {
      state.tamper = t
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  }
}

/** A browser's cookie jar, per origin, enough to walk a login through redirects and forms. */
class CookieJar {
  private readonly byOrigin = new Map<string, Map<string, string>>()

  header(url: string): string {
    return [...(this.byOrigin.get(new URL(url).origin) ?? new Map<string, string>())]
      .map(([k, v]) => `${k}=${v}`)
      .join('; ')
  }

  take(url: string, res: Response): void {
    const jar = this.byOrigin.get(new URL(url).origin) ?? new Map<string, string>()
    this.byOrigin.set(new URL(url).origin, jar)
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const at = pair.indexOf('=')
      const name = pair.slice(0, at).trim()
      const value = pair.slice(at + 1).trim()
      if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name)
      else jar.set(name, value)
    }
  }
}

/**
 * Signs `user` in through Signalbox's `/auth/login`, the provider's login and consent pages, and back
 * to Signalbox's callback, like a browser would. Returns the callback's answer (not followed).
 */
export async function signInThrough(signalboxUrl: string, user: string, returnTo = '/'): Promise<Response> {
  const jar = new CookieJar()
  const go = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header(url) },
    })
    jar.take(url, res)
    return res
  }
  let url = `${signalboxUrl}/auth/login?returnTo=${encodeURIComponent(returnTo)}`
  let res = await go(url)
  for (let step = 0; step < 20; step++) {
    if (url.startsWith(`${signalboxUrl}/auth/callback`)) return res
    const location = res.headers.get('location')
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href
      res = await go(url)
      continue
    }
    // A login or consent page: submit its form, with a name and any password where asked.
    const page = await res.text()
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(page)
    if (!form) throw new Error(`no form at ${url} (${res.status}): ${page.slice(0, 300)}`)
    const fields = new URLSearchParams()
    for (const [input] of (form[2] ?? '').matchAll(/<input[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(input)?.[1]
      if (name) fields.set(name, /value="([^"]*)"/.exec(input)?.[1] ?? '')
    }
    if (fields.has('login')) fields.set('login', user)
    if (fields.has('password')) fields.set('password', 'any password')
    url = new URL(form[1] as string, url).href
    res = await go(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
    })
  }
  throw new Error('the sign-in did not come back to Signalbox')
}

/** The session cookie a callback set, as `name=value`. */
export function sessionCookieOf(res: Response): string | undefined {
  const line = res.headers.getSetCookie().find((l) => l.startsWith('signalbox_session='))
  return line?.split(';')[0]
}
