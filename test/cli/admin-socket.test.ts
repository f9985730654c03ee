import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChildSignalbox, startChildSignalbox } from '../../bench/child.ts'
import { adminSocketPath } from '../../cli/admin/socket.ts'
import { signalbox } from '../support/cli.ts'

// `signalbox start` in its own process, as a user runs it: its embedded engine locks the data dir,
// so the CLI's admin commands must reach it through the admin socket.
const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-cli-'))
const socket = adminSocketPath(dataDir)
const env = { SIGNALBOX_DATA_DIR: dataDir, SIGNALBOX_AUTH: 'tokens' }
let child: ChildSignalbox | undefined

const start = async () => {
  child = await startChildSignalbox({ ...env, SIGNALBOX_BATCH_MAX_WAIT_MS: '20' })
  return child
}
/** As a crash or `kill -9` would: the socket file stays behind. */
const kill = async () => {
  const running = child
  if (!running || running.process.exitCode !== null || running.process.signalCode !== null) return
  const exited = new Promise((resolve) => running.process.once('exit', resolve))
  running.process.kill('SIGKILL')
  await exited
}

beforeAll(async () => {
  // Group-writable, as a careless umask or a shared directory leaves it: start must tighten it.
  chmodSync(dataDir, 0o775)
  await start()
})

/** One raw request on the admin socket, as any local client could send it. */
const raw = (method: string, path: string, body: Buffer | string, contentType = 'application/json') =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { socketPath: socket, method, path, headers: { 'content-type': contentType } },
      (res) => {
        let text = ''
        res.on('data', (c) => {
          text += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.once('error', reject)
    req.end(body)
  })
/**
 * A request that declares a 1 MB body and sends only its first 16 KB: the answer must come from the
 * declared length alone. (Writing the whole megabyte races the server's close: the sender may see
 * EPIPE before it reads the 413.)
 */
const huge = () =>
  new Promise<number>((resolve, reject) => {
    let answered = false
    const req = request(
      {
        socketPath: socket,
        method: 'POST',
        path: '/tokens',
        headers: { 'content-type': 'application/json', 'content-length': String(1024 * 1024) },
      },
      (res) => {
        answered = true
        resolve(res.statusCode ?? 0)
        req.destroy()
      },
    )
    req.on('error', (error) => {
      if (!answered) reject(error)
    })
    req.write(Buffer.alloc(16 * 1024, 120))
  })
afterAll(async () => {
  await kill()
  rmSync(dataDir, { recursive: true, force: true })
})

const tokens = async (apiUrl: string, token?: string) =>
  fetch(`${apiUrl}/api/tokens`, { headers: token ? { authorization: `Bearer ${token}` } : {} })

describe('signalbox token while signalbox start runs (embedded)', () => {
  it('serves the admin socket 0600 in a data dir only its owner may write to', () => {
    expect(statSync(socket).isSocket()).toBe(true)
    expect(statSync(socket).mode & 0o777).toBe(0o600)
    expect(statSync(dataDir).mode & 0o022).toBe(0)
  })

  it('refuses a huge or malformed request with 4xx, and keeps serving', async () => {
    expect(await huge()).toBe(413)
    const malformed = await raw('POST', '/tokens', '{"name":')
    expect(malformed.status).toBe(400)
    expect(malformed.body).toMatch(/JSON/)
    expect((await raw('GET', '/', '')).status).toBe(200)
  })

  let admin = ''
  it('creates a token through the running Signalbox, which then lets it in', async () => {
    const api = (child as ChildSignalbox).apiUrl
    const created = await signalbox(['token', 'create', '--name', 'ana', '--role', 'admin'], { env })
    expect(created.stderr).toContain('through the running Signalbox')
    expect(created.code).toBe(0)
    admin = created.stdout.trim()
    expect(admin).toMatch(/^sbx_[0-9a-f]{16}\./)
    expect((await tokens(api)).status).toBe(401)
    const listed = await tokens(api, admin)
    expect(listed.status).toBe(200)
    expect(((await listed.json()) as { tokens: { name: string }[] }).tokens.map((t) => t.name)).toContain(
      'ana',
    )

    const list = await signalbox(['token', 'list'], { env })
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(new RegExp(`${admin.slice(4, 20)}\\s+ana\\s+personal\\s+admin`))
  })

  it('rotates the payload key inside the running Signalbox, whose api then reads what was re-encrypted', async () => {
    const api = (child as ChildSignalbox).apiUrl
    const ingest = await signalbox(['token', 'create', '--name', 'erp-sync', '--kind', 'ingest'], { env })
    expect(ingest.code).toBe(0)
    const customer = { name: 'Siobhan Park', email: 'siobhan@example.com' }
    const reported = await fetch(`${api}/api/exceptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ingest.stdout.trim()}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        connector: 'order-to-cash',
        flow: 'order_to_cash',
        step: 'post_sales_order',
        entity: { type: 'order', id: 'SO-CLI-1' },
        payload: { orderId: 'SO-CLI-1', customer },
        sensitive: ['customer.name', 'customer.email'],
        error: { class: 'erp.http_503', message: 'ERP unavailable' },
        attempts: 3,
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
      }),
    })
    expect(reported.status).toBe(201)

    const rotated = await signalbox(['payload-keys', 'rotate'], { env })
    expect(rotated.code).toBe(0)
    expect(rotated.stderr).toMatch(
      /key \S+ added to .*payload-keys; 1 exception payloads re-encrypted with it/,
    )
    const res = await fetch(`${api}/api/exceptions?connector=order-to-cash`, {
      headers: { authorization: `Bearer ${admin}` },
    })
    const body = (await res.json()) as { exceptions: { payload: { customer: typeof customer } }[] }
    expect(body.exceptions[0]?.payload.customer).toEqual(customer)
  })

  it('revokes a token through the running Signalbox, refused from the next request on', async () => {
    const api = (child as ChildSignalbox).apiUrl
    const revoked = await signalbox(['token', 'revoke', admin.slice(4, 20)], { env })
    expect(revoked.code).toBe(0)
    expect((await tokens(api, admin)).status).toBe(401)

    const unknown = await signalbox(['token', 'revoke', 'feedfeedfeedfeed'], { env })
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain("no token 'feedfeedfeedfeed': see the ids with `signalbox token list`")
    expect(unknown.stderr).not.toMatch(/\n\s+at /)
  })

  it('recovers a stale socket: a new start serves it again; with none running the CLI opens the store and removes it', async () => {
    await kill()
    expect(existsSync(socket)).toBe(true)

    await start()
    const viaNew = await signalbox(['token', 'create', '--name', 'ci', '--kind', 'ingest'], { env })
    expect(viaNew.stderr).toContain('through the running Signalbox')
    expect(viaNew.code).toBe(0)

    await kill()
    expect(existsSync(socket)).toBe(true)
    const direct = await signalbox(['token', 'list', '--json'], { env })
    expect(direct.stderr).toContain('no Signalbox is running')
    expect(direct.stderr).toContain('removed the stale admin socket')
    expect(direct.code).toBe(0)
    const listed = JSON.parse(direct.stdout) as { name: string; revokedAt: string | null }[]
    expect(listed.map((t) => t.name).sort()).toEqual(['ana', 'ci', 'erp-sync'])
    expect(listed.find((t) => t.name === 'ana')?.revokedAt).not.toBeNull()
    expect(existsSync(socket)).toBe(false)
  })
})
