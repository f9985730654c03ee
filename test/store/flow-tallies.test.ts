import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FlowDefinition, flowShape, loadFlows } from '../../core/flows.ts'
import type { Store } from '../../store/client.ts'
import { type MetricsRange, progress, stageLatencies } from '../../store/queries/flow-metrics.ts'
import type { FlowShape } from '../../store/queries/flow-stages.ts'
import { flowSnapshot, refreshFlowState } from '../../store/queries/flow-state.ts'
import { KIND } from '../../store/queries/flow-tallies.ts'
import { type StuckQuery, stuckEntities } from '../../store/queries/stuck.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { sendEvents } from '../support/events.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * Flow metrics from the tallies must say what the same metrics read from every entity say: the
 * funnel, throughput and backlog exactly, stage latencies within the histogram's 2 %. Checked after a
 * first refresh, with changes not yet refreshed, after an incremental refresh, and after refreshes cut
 * off half way (a crash) and finished by the next one.
 */

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const definition = loadFlows(`${import.meta.dirname}/../../config`).get('order_to_cash') as FlowDefinition
const flow = flowShape(definition)
const now = Math.floor(Date.now() / MINUTE) * MINUTE
const start = now - 8 * HOUR
const CHANNELS = ['web', 'app', 'pos', 'marketplace']
const ORDERS = 48

let sb: TestSignalbox
let n = 0
const event = (type: string, subject: string, at: number, channel: string) => ({
  specversion: '1.0',
  id: `ft-${n++}`,
  source: 'urn:flow-tallies-test',
  type,
  subject,
  time: new Date(at).toISOString(),
  datacontenttype: 'application/json',
  data: { channel },
})

/** Order i: when it reaches stage k (0-based), varied per order; some skip a stage, some are cancelled. */
const orderId = (i: number) => `FT-${String(i).padStart(3, '0')}`
const createdAt = (i: number) => start + i * 7 * MINUTE + ((i * 37) % 60) * 1000
const stageAt = (i: number, k: number) =>
  createdAt(i) + k * (1 + ((i * 7) % 13)) * MINUTE + ((i * k * 11) % 50) * 1000
const channelOf = (i: number) => CHANNELS[i % CHANNELS.length] as string

/** Events for stages [from, to) of every order, as far as each order goes. */
function stageEvents(from: number, to: number) {
  const events: object[] = []
  for (let i = 0; i < ORDERS; i++) {
    const depth = 1 + (i % flow.stageEvents.length)
    for (let k = from; k < Math.min(to, depth); k++) {
      if (i % 11 === 5 && k === 2) continue // never confirmed: a later stage is reached without it
      const type = flow.stageEvents[k]?.[0] as string
      events.push(event(type, orderId(i), stageAt(i, k), channelOf(i)))
    }
  }
  return events
}

const range: MetricsRange = {
  from: new Date(start - HOUR),
  to: new Date(now + HOUR),
  stepSeconds: 900,
  lookbackFrom: new Date(start - 2 * HOUR),
}
const current = { since: new Date(start - 2 * HOUR), until: new Date(now + HOUR) }

const LIMITS = definition.stages.map((s) => s.maxDelayMs ?? 0)

async function readBoth(f: FlowShape = flow) {
  const live = {
    latencies: await stageLatencies(sb.store, f, range),
    progress: await progress(sb.store, f, range, current),
  }
  const snapshot = await flowSnapshot(sb.store, f)
  const r = { ...range, snapshot }
  const tallied = {
    latencies: await stageLatencies(sb.store, f, r),
    progress: await progress(sb.store, f, r, current),
  }
  return { live, tallied, snapshot }
}

const counts = (p: Awaited<ReturnType<typeof progress>>) => ({
  progress: p.progress && {
    started: Number(p.progress.started),
    reached: p.progress.reached.map(Number),
    completed: Number(p.progress.completed),
    terminated: Number(p.progress.terminated),
    waiting: p.progress.waiting.map(Number),
  },
  throughput: p.throughput.map((t) => `${t.bucket} ${t.channel} ${Number(t.entities)}`).sort(),
})

/** The stuck list read from the waiting entities kept, and from every entity: the same entities. */
async function expectStuckAgree(
  snapshot: Awaited<ReturnType<typeof flowSnapshot>>,
  f: FlowShape,
  limits: readonly number[],
): Promise<void> {
  const q: StuckQuery = {
    flow: f,
    maxDelayMs: limits,
    since: current.since,
    until: current.until,
    now: new Date(now + HOUR),
    limit: 1000,
  }
  const byId = (rows: Awaited<ReturnType<typeof stuckEntities>>) => rows.map((r) => JSON.stringify(r)).sort()
  const live = await stuckEntities(sb.store, { ...q, snapshot: { changed: undefined, tallied: false } })
  expect(live.length).toBeGreaterThan(3)
  expect(byId(await stuckEntities(sb.store, { ...q, snapshot }))).toEqual(byId(live))
  // One stage, one channel: the same filters either way.
  const narrow = { ...q, overdueStage: 3, channels: ['web', 'app'] }
  const liveNarrow = await stuckEntities(sb.store, {
    ...narrow,
    snapshot: { changed: undefined, tallied: false },
  })
  expect(liveNarrow.length).toBeGreaterThan(0)
  expect(byId(await stuckEntities(sb.store, { ...narrow, snapshot }))).toEqual(byId(liveNarrow))
}

/** The two reads agree: counts exactly, latencies within the histogram's resolution. */
async function expectTalliesAgree(f: FlowShape = flow, limits: readonly number[] = LIMITS): Promise<void> {
  const { live, tallied, snapshot } = await readBoth(f)
  expect(snapshot.tallied).toBe(true)
  await expectStuckAgree(snapshot, f, limits)
  expect(counts(tallied.progress)).toEqual(counts(live.progress))
  expect(Number(live.progress.progress?.started)).toBeGreaterThan(0)
  const key = (l: { bucket: string; stage_index: string }) => `${l.bucket}/${l.stage_index}`
  const liveByKey = new Map(live.latencies.map((l) => [key(l), l]))
  expect(tallied.latencies.map(key).sort()).toEqual([...liveByKey.keys()].sort())
  for (const t of tallied.latencies) {
    const l = liveByKey.get(key(t))
    expect(Number(t.entities), key(t)).toBe(Number(l?.entities))
    // Both interpolate between neighbouring delays; the tallies know a delay as its bucket's mean,
    // which lies within a bucket's width (2^(1/16), 4.4 %) of each delay in it.
    for (const p of ['p50', 'p95', 'p99'] as const) {
      const [a, b] = [t[p], l?.[p] ?? Number.NaN]
      expect(Math.abs(a - b), `${key(t)} ${p}: ${a} against ${b}`).toBeLessThanOrEqual(b * 0.045 + 1)
    }
  }
}

/** A store whose insert into `into` fails, as a process killed just before it would. */
function cutOffAt(store: Store, into: string): Store {
  return {
    ...store,
    async command(statement) {
      const text = typeof statement === 'string' ? statement : statement.query
      if (text.includes(`INSERT INTO ${into} `)) throw new Error(`cut off before ${into}`)
      return store.command(statement)
    },
  }
}

const tallySum = async (kind: number) =>
  Number(
    (
      await sb.rows<{ n: string }>(
        sql`SELECT sum(n) AS n FROM ${table(TABLES.flowTallies)} WHERE flow = ${flow.name} AND kind = ${kind}`,
      )
    )[0]?.n ?? 0,
  )

beforeAll(async () => {
  // Refreshes run when the test says (the timer's would only interleave with them, one at a time).
  sb = await startSignalbox({ SIGNALBOX_ROLLUP_INTERVAL_SECONDS: '3600' })
  await sendEvents(sb.collectorUrl, stageEvents(0, 3))
})
afterAll(async () => {
  await sb?.close()
})

describe('flow metrics from the tallies', () => {
  it('agree with the entities after the first refresh, which builds the tallies from nothing', async () => {
    await refreshFlowState(sb.store, flow, { slackMs: 0 })
    await expectTalliesAgree()
    expect(await tallySum(KIND.entered)).toBe(ORDERS)
  })

  it('agree while changes wait for a refresh (read live), and after it (kept)', async () => {
    // Later stages, cancellations, and an earlier creation for some orders: their entry moves.
    const later = stageEvents(3, flow.stageEvents.length)
    const cancelled = [1, 9, 17].map((i) =>
      event(flow.terminalEvents[0] as string, orderId(i), stageAt(i, 2) + MINUTE, channelOf(i)),
    )
    const earlier = [2, 3].map((i) =>
      event(flow.stageEvents[0]?.[0] as string, orderId(i), createdAt(i) - 20 * MINUTE, channelOf(i)),
    )
    await sendEvents(sb.collectorUrl, [...later, ...cancelled, ...earlier])
    const { snapshot } = await readBoth()
    expect(snapshot.changed?.length).toBeGreaterThan(0)
    await expectTalliesAgree()
    await refreshFlowState(sb.store, flow, { slackMs: 0 })
    await expectTalliesAgree()
    expect(await tallySum(KIND.entered)).toBe(ORDERS)
    expect(await tallySum(KIND.terminated)).toBe(3)
  })

  const cutOffs = [TABLES.flowTallies, TABLES.flowWaiting, TABLES.flowEntities]
  for (const [k, into] of cutOffs.entries()) {
    it(`count a refresh cut off before its insert into ${into} once, when the next refresh finishes it`, async () => {
      const i = ORDERS + k
      await sendEvents(sb.collectorUrl, [
        event(flow.stageEvents[0]?.[0] as string, orderId(i), now - 30 * MINUTE, 'web'),
        event(flow.stageEvents[1]?.[0] as string, orderId(i), now - 20 * MINUTE, 'web'),
      ])
      await expect(refreshFlowState(cutOffAt(sb.store, into), flow, { slackMs: 0 })).rejects.toThrow(
        'cut off',
      )
      // Under way: reads do not take the tallies until the refresh is finished.
      expect((await flowSnapshot(sb.store, flow)).tallied).toBe(false)
      await refreshFlowState(sb.store, flow, { slackMs: 0 })
      await expectTalliesAgree()
      expect(await tallySum(KIND.entered)).toBe(i + 1)
    })
  }

  it(`build the state again when the flow's stages change, and when a mark from before the tallies comes`, async () => {
    // A stage added (optional, before the invoice): every kept row and tally is of another shape.
    const n = flow.stageEvents.length
    const wider: FlowShape = {
      ...flow,
      stageEvents: [
        ...flow.stageEvents.slice(0, n - 1),
        ['retail.order.gift_wrapped'],
        ...flow.stageEvents.slice(n - 1),
      ],
      optionalStages: [...flow.optionalStages.slice(0, n - 1), true, ...flow.optionalStages.slice(n - 1)],
    }
    const widerLimits = [...LIMITS.slice(0, n - 1), 0, ...LIMITS.slice(n - 1)]
    const entered = ORDERS + cutOffs.length
    expect((await flowSnapshot(sb.store, wider)).tallied).toBe(false)
    await refreshFlowState(sb.store, wider, { slackMs: 0 })
    await expectTalliesAgree(wider, widerLimits)
    expect(await tallySum(KIND.entered)).toBe(entered)
    // And back.
    await refreshFlowState(sb.store, flow, { slackMs: 0 })
    await expectTalliesAgree()
    expect(await tallySum(KIND.entered)).toBe(entered)
    // A process from before the tallies writes a mark of its own (a rolling upgrade): built again,
    // what was counted taken away first.
    await sb.store.command(sql`
      INSERT INTO ${table(TABLES.flowStateMarks)} (flow, watermark, version)
      VALUES (${flow.name}, ${new Date(now)}, ${BigInt(Date.now() + HOUR) * 1000n})`)
    await refreshFlowState(sb.store, flow, { slackMs: 0 })
    await expectTalliesAgree()
    expect(await tallySum(KIND.entered)).toBe(entered)
  })
})
