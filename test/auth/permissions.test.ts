import { readFileSync } from 'node:fs'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiApp } from '../../api/app.ts'
import {
  type ApiEnv,
  declaredPolicies,
  grantOf,
  type Policy,
  policy,
  scoped,
  visibilityFor,
} from '../../api/policy.ts'
import { ROUTES_FILE, routeTable } from '../../api/route-table.ts'
import { authenticate } from '../../auth/middleware.ts'
import { allowed, type Role } from '../../auth/permissions.ts'
import { createToken } from '../../auth/tokens.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
const tokens = {} as Record<Role, string>
const ROLE_LIST: Role[] = ['viewer', 'support', 'operator', 'admin', 'ingest']

beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens' })
  for (const role of ROLE_LIST) {
    const created = await createToken(sb.store, {
      name: `test ${role}`,
      kind: role === 'ingest' ? 'ingest' : 'personal',
      role: role === 'ingest' ? 'viewer' : role,
      createdBy: 'test',
    })
    tokens[role] = created.token
  }
})
afterAll(async () => {
  await sb?.close()
})

const SAMPLE: Record<string, string> = {
  ':id': 'x',
  ':flow': 'order_to_cash',
  ':type': 'order',
  ':action': 'pause',
  ':traceId': '0'.repeat(32),
  ':sku': 'SKU-1',
  '*': 'index.js',
}
const concrete = (path: string) => path.replace(/:[a-zA-Z]+|\*/g, (p) => SAMPLE[p] ?? 'x')

async function call(key: string, token?: string) {
  const [method, path] = key.split(' ') as [string, string]
  const res = await fetch(`${sb.apiUrl}${concrete(path)}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
    },
    body: method === 'GET' ? undefined : '{}',
  })
  await res.arrayBuffer()
  return res.status
}

/** Every route of the api with the policy it declares, found from the app itself. */
const declarations = () => declaredPolicies(apiApp(sb.store, sb.config, sb.log))

describe('route policies', () => {
  it('are declared by every route of the api', () => {
    const undeclared = [...declarations()].filter(([, p]) => p === undefined).map(([route]) => route)
    expect(undeclared).toEqual([])
    // The walk sees the routes, a sub-app's under its mount path.
    expect([...declarations().keys()]).toEqual(
      expect.arrayContaining(['GET /api/flows/:flow/stuck', 'POST /api/exceptions/:id/replay', 'GET /']),
    )
  })

  it('are listed in docs/routes.md as declared (npm run docs:routes writes it)', () => {
    expect(readFileSync(ROUTES_FILE, 'utf8')).toBe(routeTable(apiApp(sb.store, sb.config, sb.log)))
  })

  it('find a route without a declaration, and refuse it at run time, whoever asks', async () => {
    const app = new Hono<ApiEnv>()
      .use(authenticate({ mode: 'none', store: sb.store, log: sb.log, grantOf }))
      .use(visibilityFor({ store: sb.store, flows: new Map(), slos: [], config: sb.config }))
      .get('/declared', policy({ role: 'public', scope: 'none' }), (c) => c.text('ok'))
      .get('/forgotten', (c) => c.text('leaked'))
    expect([...declaredPolicies(app)]).toEqual([
      ['GET /declared', { role: 'public', scope: 'none' }],
      ['GET /forgotten', undefined],
    ])
    expect((await app.request('/declared')).status).toBe(200)
    const refused = await app.request('/forgotten')
    expect(refused.status).toBe(403)
    expect(await refused.text()).not.toContain('leaked')
    expect((await app.request('/nowhere')).status).toBe(404)
    // A middleware that answers a path no route declares (`.use` or `.all`) is refused too.
    const answeringMiddleware = new Hono<ApiEnv>()
      .use(authenticate({ mode: 'none', store: sb.store, log: sb.log, grantOf }))
      .use('/side/*', async (c) => c.text('leaked'))
    const side = await answeringMiddleware.request('/side/door')
    expect(side.status).toBe(403)
    expect(await side.text()).not.toContain('leaked')
  })

  it('fail a scoped request whose handler forgot to narrow, rather than answer it unnarrowed', async () => {
    const scopedToken = (
      await createToken(sb.store, {
        name: 'scoped viewer',
        kind: 'personal',
        role: 'viewer',
        createdBy: 'test',
        scope: { channels: ['web'] },
      })
    ).token
    const app = new Hono<ApiEnv>()
      .use(authenticate({ mode: 'tokens', store: sb.store, log: sb.log, grantOf }))
      .use(visibilityFor({ store: sb.store, flows: new Map(), slos: [], config: sb.config }))
      .get('/forgot', policy({ role: 'viewer', scope: 'narrowed' }), (c) => c.text('everything'))
      .get('/narrows', policy({ role: 'viewer', scope: 'narrowed' }), (c) =>
        c.text(scoped(c).channel('pos') ? 'everything' : 'web only'),
      )
      .onError((_err, c) => c.text('internal error', 500))
    const as = (path: string, token: string) =>
      app.request(path, { headers: { authorization: `Bearer ${token}` } })
    const forgot = await as('/forgot', scopedToken)
    expect(forgot.status).toBe(500)
    expect(await forgot.text()).not.toContain('everything')
    expect((await as('/forgot', tokens.viewer)).status).toBe(200)
    expect(await (await as('/narrows', scopedToken)).text()).toBe('web only')
  })

  it('let each role call exactly the routes its declarations give it', async () => {
    const wrong: string[] = []
    for (const [key, declared] of declarations()) {
      const needed = (declared as Policy).role
      const anonymous = await call(key)
      if (needed === 'public' ? anonymous === 401 || anonymous === 403 : anonymous !== 401)
        wrong.push(`${key} without a token: ${anonymous}`)
      for (const role of ROLE_LIST) {
        const status = await call(key, tokens[role])
        const may = allowed(role, needed)
        if (may ? status === 401 || status === 403 : status !== 403)
          wrong.push(`${key} as ${role}: ${status}`)
      }
    }
    expect(wrong).toEqual([])
  })

  it('answer 404 for a path that is no route, after no check', async () => {
    expect(await call('GET /api/not-a-route', tokens.admin)).toBe(404)
  })
})
