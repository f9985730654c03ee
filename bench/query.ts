/**
 * Read-side latency on a seeded store: p50/p95 per api route, measured through the api app itself
 * (validation, queries, JSON), without the network. Last line: one JSON object.
 *
 *   npm run bench:query            (BENCH_QUERY_ORDERS=340000 ≈ 11 M spans and 2.2 M events;
 *                                   BENCH_QUERY_ONLY=lifecycle,trace picks reads;
 *                                   BENCH_QUERY_CHANGED=10000 then reads with that many orders
 *                                   changed since the flow-state refresh, and times the refresh;
 *                                   BENCH_QUERY_FLOOD=32 lifecycle reads beside another token's
 *                                   32 flow-metrics reads at a time, `fairness`)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiApp } from '../api/app.ts'
import { createToken } from '../auth/tokens.ts'
import { type FlowDefinition, flowShape, loadFlows } from '../core/flows.ts'
import { createLogger } from '../core/logger.ts'
import { newKey } from '../core/payload-vault.ts'
import { openStore } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'
import { refreshFlowState } from '../store/queries/flow-state.ts'
import { rollupSystemEdges } from '../store/rollups.ts'
import { sql, table } from '../store/sql.ts'
import { TABLES } from '../store/tables.ts'
import { seedOrders } from './seed.ts'

const ORDERS = Number(process.env.BENCH_QUERY_ORDERS ?? 340_000)
const RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 40)
const HOUR = 3_600_000
const CONFIG_DIR = join(import.meta.dirname, '../config')
const log = (msg: string) => process.stderr.write(`${msg}\n`)
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
}

// BENCH_QUERY_DATA_DIR keeps the seeded store for another run (seeding takes minutes at full size).
const keep = process.env.BENCH_QUERY_DATA_DIR
const dataDir = keep ?? mkdtempSync(join(tmpdir(), 'signalbox-bench-query-'))
const store = await openStore({
  dataDir,
  clickhouse: { database: 'signalbox' },
  query: { timeoutSeconds: 600 },
})
try {
  await migrate(store, { spans: 30, logs: 30, events: 400 })
  const flow = loadFlows(CONFIG_DIR).get('order_to_cash') as FlowDefinition
  const count = async (name: (typeof TABLES)[keyof typeof TABLES]) =>
    Number((await store.query<{ n: string }>(sql`SELECT count() AS n FROM ${table(name)}`))[0]?.n ?? 0)
  let end = new Date(Math.floor(Date.now() / 60_000) * 60_000)
  if ((await count(TABLES.spans)) === 0) {
    await seedOrders(store, flow, { orders: ORDERS, end }, log)
    const t = performance.now()
    for (let h = 24; h > 0; h--)
      await rollupSystemEdges(
        store,
        new Date(end.getTime() - h * HOUR),
        new Date(end.getTime() - (h - 1) * HOUR),
      )
    log(`system map rolled up in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  } else {
    const [last] = await store.query<{ ms: string }>(
      sql`SELECT toUnixTimestamp64Milli(max(timestamp)) AS ms FROM ${table(TABLES.spans)}`,
    )
    end = new Date(Math.ceil(Number(last?.ms) / 60_000) * 60_000)
    log('reusing the seeded store')
  }
  // The flow state the api keeps on its timer: built once (or brought up to date on a reused store),
  // then a refresh with nothing new, as every later tick is when no orders arrive.
  for (const label of ['flow state built', 'flow state refreshed']) {
    const t = performance.now()
    await refreshFlowState(store, flowShape(flow))
    log(`${label} in ${(performance.now() - t).toFixed(0)} ms`)
  }
  const seeded = {
    spans: await count(TABLES.spans),
    events: await count(TABLES.events),
    entityIndex: await count(TABLES.entityIndex),
    traces: Number(
      (await store.query<{ n: string }>(sql`SELECT uniq(trace_id) AS n FROM ${table(TABLES.traceIndex)}`))[0]
        ?.n,
    ),
  }
  log(`seeded ${JSON.stringify(seeded)}`)

  const config = (auth: 'none' | 'tokens') => ({
    query: { timeoutSeconds: 30, maxRangeDays: 31, readsPerCaller: 64, rollupEveryMs: 30_000 },
    configDir: CONFIG_DIR,
    replay: {
      callbackSecret: `whsec_${Buffer.alloc(32).toString('base64')}`,
      limit: 5,
      probeEveryMs: 30_000,
      callbackHosts: [],
    },
    auth,
    rateLimits: { apiPerMinute: 1_000_000, ingestPerMinute: 1_000_000 },
    hashKey: 'bench-hash-key-0123456789abcdef0123',
    dataDir,
    payloadKeys: newKey('bench'),
    sessionHours: 12,
    publicUrl: 'http://127.0.0.1:8080',
  })
  const app = apiApp(store, config('none'), createLogger('silent'))
  // Ids spread over the day; each run asks for a different one, so caches do not flatter.
  const orderId = (i: number) => `SO-${String((i * 7919) % ORDERS).padStart(8, '0')}`
  const traceIds = (
    await store.query<{ trace_id: string }>(sql`
      SELECT trace_id FROM ${table(TABLES.traceIndex)} ORDER BY cityHash64(trace_id) LIMIT ${RUNS}`)
  ).map((r) => r.trace_id)
  const day = `from=${new Date(end.getTime() - 24 * HOUR).toISOString()}&to=${end.toISOString()}`
  const lastHour = `from=${new Date(end.getTime() - HOUR).toISOString()}&to=${end.toISOString()}`
  // The map edge with the most failed calls, for its drill-down.
  const [edge] = await store.query<{ source: string; target: string }>(sql`
    SELECT source, target FROM ${table(TABLES.systemEdges)} GROUP BY source, target ORDER BY sum(errors) DESC LIMIT 1`)
  const queries: Record<string, (i: number) => string> = {
    lifecycle: (i) => `/api/orders/${orderId(i)}/lifecycle`,
    trace: (i) => `/api/traces/${traceIds[i % traceIds.length]}`,
    search: (i) => `/api/search?q=${orderId(i).slice(0, 9)}`,
    metrics: () => `/api/flows/order_to_cash/metrics?${day}`,
    stuck: () => '/api/flows/order_to_cash/stuck',
    map: () => `/api/systems/map?${day}`,
    // Without targets, measured so their figures can be reproduced: every SLO evaluated (what the
    // alert evaluator does each tick), one SLO in detail (its series and the events that burned it),
    // connector health over a day, and the failed calls on one map edge over an hour.
    slos: () => '/api/slos',
    slo: () => '/api/slos/erp_calls_succeed',
    connectors: () => '/api/connectors',
    calls: () => `/api/systems/calls?source=${edge?.source}&target=${edge?.target}&${lastHour}`,
  }
  const results: Record<string, { p50: number; p95: number; runs: number }> = {}
  /** Runs a read RUNS times after two warm-up runs; logs p50, p95 and the runs in order. */
  async function measure(name: string, url: (i: number) => string) {
    const times: number[] = []
    for (let i = -2; i < RUNS; i++) {
      const started = performance.now()
      const res = await app.request(url(Math.max(0, i)))
      const body = await res.text()
      if (res.status !== 200) throw new Error(`${url(i)} answered ${res.status}: ${body.slice(0, 300)}`)
      if (i >= 0) times.push(performance.now() - started) // two warm-up runs
    }
    results[name] = {
      p50: +percentile(times, 0.5).toFixed(1),
      p95: +percentile(times, 0.95).toFixed(1),
      runs: RUNS,
    }
    log(`${name.padEnd(10)} p50 ${results[name].p50} ms  p95 ${results[name].p95} ms  (${RUNS} runs)`)
    // In the order they ran: where a p95 comes from (the first runs of a query shape are slower).
    log(`${''.padEnd(10)} runs in order: ${times.map((t) => t.toFixed(0)).join(' ')}`)
  }
  // BENCH_QUERY_ONLY=lifecycle,metrics picks reads (at 100 M spans, each SLO evaluation takes seconds).
  const only = process.env.BENCH_QUERY_ONLY?.split(',')
  // As many runs for every read: with 20, a p95 would be the single slowest run.
  for (const [name, url] of Object.entries(queries).filter(([n]) => !only || only.includes(n)))
    await measure(name, url)

  // Fairness: one token floods the store with a day's flow metrics, FLOOD requests at a time, while
  // a support agent's token reads order lifecycles one after another. The agent's reads wait for
  // their turn beside the flood's, not behind it (store/read-lanes.ts).
  const FLOOD = Number(process.env.BENCH_QUERY_FLOOD ?? 32)
  if (FLOOD > 0 && (!only || only.includes('fairness'))) {
    const tokensApp = apiApp(store, config('tokens'), createLogger('silent'))
    const tokenOf = async (name: string) =>
      (await createToken(store, { name, kind: 'personal', role: 'support', createdBy: 'bench' })).token
    const [flooder, agent] = [await tokenOf('flood'), await tokenOf('agent')]
    const as = (token: string, url: string) =>
      tokensApp.request(url, { headers: { authorization: `Bearer ${token}` } })
    let flooding = true
    const statuses = new Map<number, number>()
    const floods = Array.from({ length: FLOOD }, async () => {
      while (flooding) {
        const res = await as(flooder, queries.metrics?.(0) as string)
        await res.arrayBuffer()
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      }
    })
    const times: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now()
      const res = await as(agent, queries.lifecycle?.(i) as string)
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`lifecycle under the flood answered ${res.status}`)
      times.push(performance.now() - started)
    }
    flooding = false
    await Promise.all(floods)
    results.fairness = {
      p50: +percentile(times, 0.5).toFixed(1),
      p95: +percentile(times, 0.95).toFixed(1),
      runs: RUNS,
    }
    log(
      `lifecycle beside ${FLOOD} flow-metrics reads at a time from another token: p50 ${results.fairness.p50} ms  p95 ${results.fairness.p95} ms (${RUNS} runs); the flood's answers ${JSON.stringify(Object.fromEntries(statuses))}`,
    )
  }

  // BENCH_QUERY_CHANGED=N: N orders' progress arrives after the last refresh (their invoice, now), as
  // under live traffic. Flow metrics and the stuck list then read those orders live beside what the
  // refresh kept; the next refresh takes them up.
  const changed = Number(process.env.BENCH_QUERY_CHANGED ?? 0)
  if (changed > 0) {
    const invoiced = flow.stages.at(-1)?.events[0] as string
    await store.command(sql`
      INSERT INTO ${table(TABLES.entityProgress)} (entity_type, entity_id, name, first_time, last_time, events, received)
      SELECT ${flow.entity}, concat('SO-', leftPad(toString(number * 7), 8, '0')), ${invoiced}, now64(9), now64(9), 1, now64(3)
      FROM numbers(${changed})`)
    log(`${changed} orders changed since the refresh:`)
    await measure(`metrics+${changed}`, queries.metrics as (i: number) => string)
    await measure(`stuck+${changed}`, queries.stuck as (i: number) => string)
    const t = performance.now()
    await refreshFlowState(store, flowShape(flow))
    log(`refresh taking up ${changed} changed orders: ${(performance.now() - t).toFixed(0)} ms`)
  }
  console.log(
    JSON.stringify({
      ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { p50: v.p50, p95: v.p95 }])),
      seeded,
    }),
  )
} finally {
  await store.close()
  if (!keep) rmSync(dataDir, { recursive: true, force: true })
}
