import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiApp } from '../../api/app.ts'
import { allowed, ROUTE_PERMISSIONS, type Role } from '../../auth/permissions.ts'
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

describe('the permission table', () => {
  it('declares every route of the api, and nothing that is not a route', () => {
    const app = apiApp(sb.store, sb.config, sb.log)
    const routes = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))
    const declared = new Set(Object.keys(ROUTE_PERMISSIONS))
    expect([...routes].filter((r) => !declared.has(r))).toEqual([])
    // Static assets are served by middleware, not a route.
    expect([...declared].filter((d) => !routes.has(d))).toEqual(['GET /assets/*'])
  })

  it('lets each role call exactly the routes the table gives it', async () => {
    const wrong: string[] = []
    for (const [key, needed] of Object.entries(ROUTE_PERMISSIONS)) {
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

  it('refuses a route nobody declared, whoever asks', async () => {
    expect(await call('GET /api/not-a-route', tokens.admin)).toBe(403)
  })
})
