import { type ChildProcess, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createClient } from '@clickhouse/client'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { CloudEvent, HTTP } from 'cloudevents'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readableSpan } from '../support/readable-span.ts'

/**
 * Signalbox as a retailer runs it beyond one node: the parts as processes of their own against one
 * ClickHouse server (here the HTTP test double, test/support/clickhouse-http.ts, as its own process):
 * two collectors, one api, two alert evaluators.
 */
const root = join(import.meta.dirname, '../..')
const scratch = mkdtempSync(join(tmpdir(), 'signalbox-split-'))
const DATABASE = 'signalbox_split'
const children = new Set<ChildProcess>()

/** Starts a process and resolves with the first stdout JSON line `found` accepts. */
function spawnUntil<T>(
  args: string[],
  env: Record<string, string>,
  found: (line: Record<string, unknown>) => T | undefined,
) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const ready = new Promise<T>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited early with ${code}`)))
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const value = line.startsWith('{') ? found(JSON.parse(line) as Record<string, unknown>) : undefined
      if (value !== undefined) resolve(value)
    })
  })
  return { child, ready }
}

let clickhouseUrl = ''
let env: Record<string, string> = {}
let api = ''
const collectors: { child: ChildProcess; url: string }[] = []
const evaluators: ChildProcess[] = []

const signalbox = (part: string, dataDir: string) =>
  spawnUntil(['cli/main.ts', part], { ...env, SIGNALBOX_DATA_DIR: join(scratch, dataDir) }, (l) => {
    if (l.msg === 'collector listening') return `http://${l.http}`
    if (l.msg === 'api listening') return String(l.address)
    if (l.msg === 'alert evaluator running') return 'ready'
    return undefined
  })

beforeAll(async () => {
  const double = spawnUntil(['test/support/clickhouse-http-main.ts', join(scratch, 'clickhouse')], {}, (l) =>
    typeof l.url === 'string' ? l.url : undefined,
  )
  clickhouseUrl = await double.ready
  // The shipped configuration, with the evaluator ticking every second (its lease term is then 30 s).
  const configDir = join(scratch, 'config')
  cpSync(join(root, 'config'), configDir, { recursive: true, filter: (p) => !p.includes('/demo') })
  const alerts = readFileSync(join(configDir, 'alerts.yaml'), 'utf8').replace(
    /^evaluation:.*\n( +.*\n)*/m,
    '',
  )
  writeFileSync(join(configDir, 'alerts.yaml'), `evaluation: { interval: 1s }\n${alerts}`)
  env = {
    CLICKHOUSE_URL: clickhouseUrl,
    CLICKHOUSE_DATABASE: DATABASE,
    SIGNALBOX_CONFIG_DIR: configDir,
    SIGNALBOX_HTTP_PORT: '0',
    SIGNALBOX_OTLP_HTTP_PORT: '0',
    SIGNALBOX_OTLP_GRPC_PORT: '0',
    SIGNALBOX_BATCH_MAX_WAIT_MS: '20',
    SIGNALBOX_LOG_LEVEL: 'info',
    // Each evaluator serves its own /metrics: on ports of their own, two on one host.
    SIGNALBOX_ALERTS_METRICS_PORT: '0',
  }
  // Migrations once, before the parts start (docs/operations.md, Upgrades).
  const migrate = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'migrate'], {
    cwd: root,
    env: { ...process.env, ...env, SIGNALBOX_DATA_DIR: join(scratch, 'migrate') },
    stdio: 'inherit',
  })
  expect(await new Promise((resolve) => migrate.once('exit', resolve))).toBe(0)
  const [c1, c2, apiPart, a1, a2] = [
    signalbox('collector', 'c1'),
    signalbox('collector', 'c2'),
    signalbox('api', 'api'),
    signalbox('alerts', 'a1'),
    signalbox('alerts', 'a2'),
  ]
  const [c1Url, c2Url, apiUrl] = await Promise.all([c1.ready, c2.ready, apiPart.ready, a1.ready, a2.ready])
  collectors.push({ child: c1.child, url: c1Url }, { child: c2.child, url: c2Url })
  api = apiUrl
  evaluators.push(a1.child, a2.child)
}, 180_000)

afterAll(() => {
  for (const child of children) child.kill('SIGKILL')
  rmSync(scratch, { recursive: true, force: true })
})

const store = () => createClient({ url: clickhouseUrl, database: DATABASE })
async function rows<T>(query: string, query_params: Record<string, unknown> = {}): Promise<T[]> {
  const client = store()
  try {
    return await (await client.query({ query, query_params, format: 'JSONEachRow' })).json<T>()
  } finally {
    await client.close()
  }
}

function orderEvent(orderId: string, type: string, n: number) {
  const event = new CloudEvent({
    specversion: '1.0',
    id: `${orderId}-${n}`,
    source: 'urn:retail:split-test',
    type,
    subject: orderId,
    time: new Date(Date.now() - 60_000 + n * 1000).toISOString(),
    datacontenttype: 'application/json',
    data: { orderId, channel: 'web', total: 42.5, currency: 'EUR' },
  })
  return HTTP.binary(event)
}

async function post(url: string, message: { headers: object; body: unknown }) {
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: message.headers as Record<string, string>,
    body: message.body as string,
  })
  expect(res.status, await res.clone().text()).toBe(200)
}

/** The api answers throughout: a health read every 200 ms, every answer kept. */
const health: number[] = []
let watching = true
async function watchApi() {
  while (watching) {
    health.push(
      await fetch(`${api}/api/health`).then(
        (r) => r.status,
        () => 0,
      ),
    )
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe('split processes against one ClickHouse server', () => {
  let watcher: Promise<void>
  beforeAll(() => {
    watcher = watchApi()
  })

  it('shows an order whose events went through both collectors as one lifecycle', async () => {
    const id = `SO-SPLIT-${Date.now()}`
    const [first, second] = collectors.map((c) => c.url) as [string, string]
    await post(first, orderEvent(id, 'retail.order.created', 0))
    await post(second, orderEvent(id, 'retail.order.payment_authorized', 1))
    const res = await fetch(`${api}/api/entities/order/${id}/lifecycle`)
    expect(res.status).toBe(200)
    const body = JSON.stringify(await res.json())
    expect(body).toContain('retail.order.created')
    expect(body).toContain('retail.order.payment_authorized')
  })

  it('loses nothing a collector acknowledged when it is killed, while the other carries on', async () => {
    const [doomed, survivor] = collectors as [(typeof collectors)[0], (typeof collectors)[0]]
    const traceOf = (n: number) => `e${n.toString(16).padStart(31, '0')}`
    const request = (n: number) =>
      ProtobufTraceSerializer.serializeRequest(
        Array.from({ length: 50 }, (_, i) =>
          readableSpan({
            traceId: traceOf(n),
            spanId: `${n.toString(16).padStart(8, '0')}${i.toString(16).padStart(8, '0')}`,
            name: 'sync',
            startMs: Date.now(),
            durationMs: 2,
          }),
        ),
      ) as Uint8Array
    const acknowledged: number[] = []
    let next = 0
    let killed = false
    const sender = async (url: string) => {
      while (!killed) {
        const n = next++
        const status = await fetch(`${url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: request(n) as BodyInit,
        }).then(
          (r) => r.status,
          () => 0,
        )
        if (status === 200) acknowledged.push(n)
      }
    }
    const senders = [...Array.from({ length: 4 }, () => sender(doomed.url)), sender(survivor.url)]
    await expect.poll(() => acknowledged.length, { timeout: 60_000, interval: 20 }).toBeGreaterThanOrEqual(40)
    doomed.child.kill('SIGKILL')
    await expect.poll(() => doomed.child.exitCode !== null || doomed.child.signalCode !== null).toBe(true)
    // The survivor takes requests after the other died.
    const before = acknowledged.length
    await expect
      .poll(() => acknowledged.length, { timeout: 30_000, interval: 20 })
      .toBeGreaterThan(before + 5)
    killed = true
    await Promise.all(senders)
    expect(next).toBeGreaterThan(acknowledged.length) // requests were in flight: it died mid-ingest
    const stored = new Map(
      (await rows<{ t: string; n: string }>('SELECT trace_id AS t, count() AS n FROM spans GROUP BY t')).map(
        (r) => [r.t, Number(r.n)],
      ),
    )
    expect(acknowledged.filter((n) => stored.get(traceOf(n)) !== 50)).toEqual([])
  })

  it('has exactly one evaluator hold the lease, and the other take over within a term when it is killed', async () => {
    const holders = () =>
      rows<{ term: string; holder: string }>(
        "SELECT term, argMin(holder, (claimed_at, holder)) AS holder FROM leases WHERE name = 'alerts' GROUP BY term ORDER BY term DESC LIMIT 1",
      )
    const pidOf = (holder: string) => Number(holder.slice(`${hostname()}:`.length))
    await expect.poll(async () => (await holders()).length, { timeout: 30_000 }).toBe(1)
    const [current] = await holders()
    const holderPid = pidOf(current?.holder ?? '')
    const pids = evaluators.map((e) => e.pid)
    expect(pids).toContain(holderPid)
    const holder = evaluators.find((e) => e.pid === holderPid) as ChildProcess
    const standbyPid = pids.find((p) => p !== holderPid)
    // Both evaluators are still running after their first ticks (a part alone must not exit).
    expect(evaluators.map((e) => e.exitCode ?? e.signalCode)).toEqual([null, null])
    holder.kill('SIGKILL')
    // A term is 30 s here (three ticks of 1 s, at least 30 s): the standby leads from the next one.
    await expect
      .poll(async () => pidOf((await holders())[0]?.holder ?? ''), { timeout: 45_000, interval: 500 })
      .toBe(standbyPid)
  }, 90_000)

  it('served the api throughout', async () => {
    watching = false
    await watcher
    expect(health.length).toBeGreaterThan(10)
    expect(health.filter((s) => s !== 200)).toEqual([])
  })
})
