import { randomBytes } from 'node:crypto'
import { type Context, Hono } from 'hono'
import { deleteCookie, getCookie, getSignedCookie, setCookie, setSignedCookie } from 'hono/cookie'
import { html } from 'hono/html'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { OidcLogin, PendingLogin } from '../../auth/oidc.ts'
import {
  CSRF_HEADER,
  createSession,
  csrfMatches,
  csrfTokenFor,
  endSession,
  SESSION_COOKIE,
  verifySession,
} from '../../auth/sessions.ts'
import { SignalboxError } from '../../core/errors.ts'
import type { Logger } from '../../core/logger.ts'
import type { Store } from '../../store/client.ts'
import { query } from '../params.ts'
import { type ApiEnv, policy } from '../policy.ts'

const PENDING_COOKIE = 'signalbox_oidc'
/** Where a login may send the browser back to: a path on this origin, never another site. */
const returnTo = z
  .string()
  .max(2000)
  .regex(/^\/(?![/\\])[^\s]*$/, 'a path on this site')
  .default('/')

/** A plain page for the browser when sign-in cannot go on (values escaped by `html`). */
const page = (c: Context, status: 401 | 403 | 404 | 502, title: string, message: string) =>
  c.html(
    html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signalbox: ${title}</title></head>
<body><h1>${title}</h1><p>${message}</p><p><a href="/auth/login">Try again</a></p></body></html>`,
    status,
  )

/**
 * Single sign-on and browser sessions, under `/auth`: the redirect to the provider, its callback,
 * the current session (with the CSRF token the UI sends back), and sign-out.
 */
export function sessionRoutes(
  store: Store,
  settings: {
    oidc?: OidcLogin
    sessionHours: number
    secure: boolean
    issuer?: string
    /** Whether the api asks who is calling (SIGNALBOX_AUTH=tokens); off, anyone who reaches it acts. */
    authentication?: 'none' | 'tokens'
  },
  log: Logger,
) {
  // Signs the short-lived cookie of a login in progress; a restart only cancels logins under way.
  const pendingKey = randomBytes(32).toString('base64')
  const cookieOptions = { httpOnly: true, secure: settings.secure, sameSite: 'Lax', path: '/' } as const

  // Open to all: each checks what it needs itself (a signed login cookie, the session, its CSRF token).
  const open = policy({ role: 'public', scope: 'none' })
  return new Hono<ApiEnv>()
    .get(
      '/login',
      describeRoute({ tags: ['auth'], summary: 'Start single sign-on: redirects to the OpenID provider' }),
      open,
      query(z.object({ returnTo })),
      async (c) => {
        if (!settings.oidc) return page(c, 404, 'Single sign-on is not configured', 'Sign in with a token.')
        let begun: Awaited<ReturnType<OidcLogin['begin']>>
        try {
          begun = await settings.oidc.begin(c.req.valid('query').returnTo)
        } catch (err) {
          log.warn({ err }, 'the OpenID provider could not be reached')
          return page(c, 502, 'The sign-in provider is unreachable', 'Try again in a moment.')
        }
        await setSignedCookie(c, PENDING_COOKIE, JSON.stringify(begun.pending), pendingKey, {
          ...cookieOptions,
          path: '/auth/callback',
          maxAge: 600,
        })
        return c.redirect(begun.url, 302)
      },
    )
    .get(
      '/callback',
      describeRoute({ tags: ['auth'], summary: "The provider's redirect back: opens a session" }),
      open,
      async (c) => {
        if (!settings.oidc) return page(c, 404, 'Single sign-on is not configured', 'Sign in with a token.')
        const raw = await getSignedCookie(c, pendingKey, PENDING_COOKIE)
        deleteCookie(c, PENDING_COOKIE, { ...cookieOptions, path: '/auth/callback' })
        if (!raw) return page(c, 401, 'Sign-in expired', 'The sign-in took too long or was not started here.')
        const pending = JSON.parse(raw) as PendingLogin
        let user: Awaited<ReturnType<OidcLogin['finish']>>
        try {
          user = await settings.oidc.finish(new URL(c.req.url).search, pending)
        } catch (err) {
          // Why (wrong audience, expired, bad signature) goes to the log, not to the browser.
          log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'single sign-on refused')
          return page(c, 401, 'Sign-in refused', 'The sign-in provider’s answer did not pass the checks.')
        }
        if (!user.role) {
          log.warn({ user: user.name }, 'single sign-on: no role maps from the claims')
          return page(c, 403, 'No access', `${user.name} has no Signalbox role. Ask an admin.`)
        }
        const cookie = await createSession(store, {
          name: user.name,
          role: user.role,
          scope: user.scope,
          issuer: settings.issuer ?? '',
          hours: settings.sessionHours,
        })
        setCookie(c, SESSION_COOKIE, cookie, { ...cookieOptions, maxAge: settings.sessionHours * 3600 })
        log.info({ user: user.name, role: user.role }, 'signed in')
        return c.redirect(pending.returnTo, 302)
      },
    )
    .get(
      '/session',
      describeRoute({
        tags: ['auth'],
        summary:
          'Who this browser is signed in as, the CSRF token its changes must send, and whether authentication is on',
      }),
      open,
      async (c) => {
        const cookie = getCookie(c, SESSION_COOKIE)
        const identity = cookie ? await verifySession(store, cookie) : 'no session'
        // Said so the UI can warn an admin that anyone who reaches this address acts unchecked.
        const authentication = settings.authentication ?? 'tokens'
        if (typeof identity === 'string' || !cookie)
          return c.json({ authenticated: false as const, sso: Boolean(settings.oidc), authentication })
        return c.json({
          authenticated: true as const,
          sso: Boolean(settings.oidc),
          authentication,
          name: identity.name,
          role: identity.role,
          scope: identity.scope,
          csrfToken: csrfTokenFor(cookie),
        })
      },
    )
    .post(
      '/logout',
      describeRoute({ tags: ['auth'], summary: 'End this browser session (needs the CSRF token)' }),
      open,
      async (c) => {
        const cookie = getCookie(c, SESSION_COOKIE)
        // The api's one error shape, rendered by its error handler.
        if (cookie && !csrfMatches(cookie, c.req.header(CSRF_HEADER)))
          throw new SignalboxError('csrf', `send the session's ${CSRF_HEADER}`, 403)
        if (cookie) await endSession(store, cookie)
        deleteCookie(c, SESSION_COOKIE, cookieOptions)
        return c.body(null, 204)
      },
    )
}
