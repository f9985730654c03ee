/**
 * Faults against the all-in-one (`signalbox start --no-demo`) as its own process: a poison request
 * among good senders, what refused requests leave behind, duplicate deliveries, `kill -9` mid-ingest,
 * adversarial strings, overload and the recovery after it. Prints a table (scenario | figure |
 * target | pass), progress on stderr, and one JSON object with every figure as the last line. A bad
 * figure is reported, never thrown; a scenario that fails to run reports its error and fails.
 *
 *   npm run bench:faults
 *
 * Scaled down (a shared machine, while developing), e.g.:
 *   FAULTS_SENDERS=8 FAULTS_POISON_SECONDS=5 FAULTS_KILL_SENDERS=16 FAULTS_OVERLOAD_SENDERS=8 \
 *   FAULTS_OVERLOAD_SECONDS=5 FAULTS_STRING_MAX_BYTES=262144 npm run bench:faults
 * FAULTS_ONLY=poison,kill,strings,shapes,overload picks scenarios; FAULTS_KEEP_DATA=1 keeps the data dirs.
 *
 * Figures. Bystander refusals: good senders' answers other than 2xx (a 429 with Retry-After is
 * backpressure, counted apart; a 503 is a refusal). Rows left: rows in every table, rollups included,
 * from poison requests that were not accepted. Duplicates: extra copies seen in the store, through
 * GET /api/traces/:id and in order timelines. Acknowledged lost: spans of requests answered 200 that
 * are missing after `kill -9` and a restart. Stall: the longest gap between answers of GET /api/health
 * (probed every 20 ms; it runs a store query, so waiting behind a write counts) less the 20 ms, per MB
 * of value (a value under 1 MB counts as 1 MB). 429 counted: the increase in the collector's /metrics
 * counter series whose labels name 429, queue_full or overloaded.
 */
import { runDuplicates, storedDuplicates } from './faults/duplicates.ts'
import { runKill } from './faults/kill.ts'
import { runOverload } from './faults/overload.ts'
import { rowsLeft, runPoison } from './faults/poison.ts'
import { runShapes } from './faults/shapes.ts'
import { runStalls } from './faults/stall.ts'
import { newDataDir, removeDataDirs, startChild, stopChild, withStore } from './faults/traffic.ts'

const setting = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback)
  return Number.isFinite(v) && v > 0 ? v : fallback
}
const SENDERS = setting('FAULTS_SENDERS', 32)
const POISON_SECONDS = setting('FAULTS_POISON_SECONDS', 20)
const BATCH_ORDERS = setting('FAULTS_BATCH_ORDERS', 64) // 64 orders ≈ 512 spans, the SDK's default batch
const KILL_SENDERS = setting('FAULTS_KILL_SENDERS', 64)
const KILL_AFTER_SECONDS = setting('FAULTS_KILL_AFTER_SECONDS', 5)
const STRING_MAX_BYTES = setting('FAULTS_STRING_MAX_BYTES', 1024 * 1024)
const STALL_BUDGET_MS = setting('FAULTS_STALL_BUDGET_MS', 1000)
const STALL_TIMEOUT_MS = setting('FAULTS_STALL_TIMEOUT_SECONDS', 60) * 1000
const OVERLOAD_SENDERS = setting('FAULTS_OVERLOAD_SENDERS', 32)
const OVERLOAD_SPANS = setting('FAULTS_OVERLOAD_SPANS', 8192)
const OVERLOAD_SECONDS = setting('FAULTS_OVERLOAD_SECONDS', 60)
const ONLY = new Set((process.env.FAULTS_ONLY ?? 'poison,kill,strings,shapes,overload').split(','))

const log = (msg: string) => process.stderr.write(`${msg}\n`)
const round = (x: number | null, digits = 0) =>
  x === null || !Number.isFinite(x) ? null : Number(x.toFixed(digits))
const ms = (x: number | null) => (x === null || !Number.isFinite(x) ? 'none' : `${Math.round(x)} ms`)

interface Row {
  scenario: string
  figure: string
  target: string
  /** null: for information, no target. */
  pass: boolean | null
}
const rows: Row[] = []
const figures: Record<string, unknown> = {}
const errors: Record<string, string> = {}
const row = (scenario: string, figure: string, target: string, pass: boolean | null) =>
  rows.push({ scenario, figure, target, pass })

/** Runs one step; an exception becomes a failed row with its message, never a crash. */
async function attempt<T>(scenario: string, step: () => Promise<T>): Promise<T | undefined> {
  try {
    return await step()
  } catch (err) {
    const message = (err as Error).message ?? String(err)
    log(`${scenario}: ${(err as Error).stack ?? message}`)
    errors[scenario] = message
    row(scenario, `error: ${message.slice(0, 80)}`, 'runs', false)
    return undefined
  }
}

if (ONLY.has('poison')) {
  log(`poison: ${SENDERS} good senders for ${POISON_SECONDS} s, one poison sender`)
  const dataDir = newDataDir()
  const child = await attempt('poison', () => startChild(dataDir))
  if (child) {
    const p = await attempt('poison', () =>
      runPoison(child, { senders: SENDERS, seconds: POISON_SECONDS, orders: BATCH_ORDERS }),
    )
    const d = await attempt('duplicates', () => runDuplicates(child))
    await stopChild(child)
    if (p) {
      const { ok, backpressure, refusals, statuses } = p.bystanders
      log(`  good senders: ${statuses}`)
      for (const [kind, s] of Object.entries(p.poison.byKind)) log(`  poison ${kind}: ${s}`)
      row(
        'poison: bystander refusals',
        `${refusals} (${ok} accepted, ${backpressure} × 429)`,
        '0',
        refusals === 0,
      )
      row(
        'poison: refused or repaired',
        `${p.poison.handled} of ${p.poison.sent} (${p.poison.answered400} × 400, ${p.poison.handled - p.poison.answered400} lone surrogates repaired)`,
        'all',
        p.poison.sent > 0 && p.poison.handled === p.poison.sent,
      )
      figures.bystanderRefusals = refusals
      figures.bystanderBackpressure = backpressure
      figures.bystanderAccepted = ok
      figures.poison = {
        sent: p.poison.sent,
        answered400: p.poison.answered400,
        handled: p.poison.handled,
        byKind: Object.fromEntries(Object.entries(p.poison.byKind).map(([k, s]) => [k, s.counts])),
      }
      const left = await attempt('refused', () => withStore(dataDir, (store) => rowsLeft(store, p)))
      if (left) {
        const total = Object.values(left).reduce((s, n) => s + n, 0)
        const where = Object.entries(left).filter(([, n]) => n > 0)
        const detail = where.length > 0 ? ` (${where.map(([t, n]) => `${t} ${n}`).join(', ')})` : ''
        row('refused: rows left', `${total} from ${p.refused.seqs.size} refused${detail}`, '0', total === 0)
        figures.rowsLeft = total
        figures.rowsLeftByTable = left
      }
    }
    if (d) {
      const stored = await attempt('duplicates', () =>
        withStore(dataDir, (store) => storedDuplicates(store, d)),
      )
      const duplicates = Math.max(stored ?? 0, d.traceApi, d.lifecycle)
      const detail = `store ${stored ?? '?'}, trace api ${d.traceApi}, lifecycle ${d.lifecycle}`
      const ok = stored !== undefined && duplicates === 0 && d.missing === 0 && d.notAcknowledged === 0
      row('duplicates', `${duplicates} (${detail}; ${d.missing} not found)`, '0', ok)
      figures.duplicates = duplicates
      figures.duplicatesBy = {
        store: stored ?? null,
        traceApi: d.traceApi,
        lifecycle: d.lifecycle,
        missing: d.missing,
      }
    }
  }
}

if (ONLY.has('kill')) {
  log(`kill -9: ${KILL_SENDERS} senders, killed after ${KILL_AFTER_SECONDS} s, restarted on the same data`)
  const k = await attempt('kill -9', () =>
    runKill(newDataDir(), { senders: KILL_SENDERS, afterSeconds: KILL_AFTER_SECONDS, orders: BATCH_ORDERS }),
  )
  if (k) {
    log(`  answers: ${k.statuses}`)
    row(
      'kill -9: acknowledged lost',
      `${k.acknowledgedLostSpans} spans (${k.acknowledged} requests acknowledged, ${k.inFlight} cut off, ${k.retriedAcknowledged} retried ok)`,
      '0',
      k.acknowledged > 0 && k.acknowledgedLostSpans === 0,
    )
    row('kill -9: duplicates from retries', `${k.duplicateSpans} spans`, 'info', null)
    row('kill -9: restart', ms(k.restartMs), 'info', null)
    figures.acknowledgedLost = k.acknowledgedLostSpans
    figures.kill = {
      acknowledged: k.acknowledged,
      inFlight: k.inFlight,
      retriedAcknowledged: k.retriedAcknowledged,
      duplicateSpans: k.duplicateSpans,
      restartMs: round(k.restartMs),
    }
  }
}

if (ONLY.has('strings')) {
  log(`strings: every pattern up to ${STRING_MAX_BYTES} bytes, /api/health probed every 20 ms`)
  const stalls = await attempt('strings', () =>
    runStalls({ maxBytes: STRING_MAX_BYTES, budgetMs: STALL_BUDGET_MS, timeoutMs: STALL_TIMEOUT_MS }),
  )
  if (stalls && stalls.length > 0) {
    const worst = stalls.reduce((a, b) => (b.msPerMB > a.msPerMB ? b : a))
    const at = `${worst.pattern}, ${Math.round(worst.stallMs)} ms at ${Math.round(worst.bytes / 1024)} KB`
    row(
      'strings: longest stall',
      `${Math.round(worst.msPerMB)} ms/MB (${at})`,
      '≤ 100 ms/MB',
      worst.msPerMB <= 100,
    )
    for (const s of stalls) {
      const answered = s.status === 200 ? '' : `, answered ${s.status || 'nothing'}`
      const stopped = s.bytes < STRING_MAX_BYTES && s.stallMs > STALL_BUDGET_MS ? ', stopped growing' : ''
      const figure = `${Math.round(s.msPerMB)} ms/MB (${Math.round(s.stallMs)} ms at ${Math.round(s.bytes / 1024)} KB${stopped}${answered})`
      row(`  ${s.pattern}`, figure, '≤ 100 ms/MB', s.msPerMB <= 100 && s.status === 200)
    }
    figures.maxStallMsPerMB = round(worst.msPerMB)
    figures.stalls = stalls.map((s) => ({
      pattern: s.pattern,
      kb: Math.round(s.bytes / 1024),
      status: s.status,
      stallMs: round(s.stallMs),
      msPerMB: round(s.msPerMB),
    }))
  }
}

if (ONLY.has('shapes')) {
  log('shapes: requests that cost far more than their size, /api/health probed every 20 ms')
  const child = await attempt('shapes', () => startChild(newDataDir()))
  if (child) {
    const shapes = await attempt('shapes', () => runShapes(child))
    await stopChild(child)
    for (const s of shapes ?? []) {
      const figure = `${s.status || 'no answer'} in ${ms(s.ms)}, stall ${ms(s.stallMs)}, peak RSS ${Math.round(s.peakRssMB)} MB`
      const pass = s.status === s.expected && s.stallMs <= STALL_BUDGET_MS && s.peakRssMB <= 1500
      row(`shapes: ${s.shape}`, figure, `${s.expected}, stall ≤ ${STALL_BUDGET_MS} ms, ≤ 1500 MB`, pass)
    }
    if (shapes)
      figures.shapes = shapes.map((s) => ({
        shape: s.shape,
        status: s.status,
        ms: round(s.ms),
        stallMs: round(s.stallMs),
        peakRssMB: round(s.peakRssMB),
      }))
  }
}

if (ONLY.has('overload')) {
  log(`overload: ${OVERLOAD_SENDERS} × ${OVERLOAD_SPANS} spans for ${OVERLOAD_SECONDS} s`)
  const child = await attempt('overload', () => startChild(newDataDir()))
  if (child) {
    const o = await attempt('overload', () =>
      runOverload(child, { senders: OVERLOAD_SENDERS, spans: OVERLOAD_SPANS, seconds: OVERLOAD_SECONDS }),
    )
    await stopChild(child)
    if (o) {
      log(`  answers: ${o.statuses}; 429 series summed: ${o.series.join(' + ') || 'none found'}`)
      row('overload: peak RSS', `${Math.round(o.peakRssMB)} MB`, '≤ 1500 MB', o.peakRssMB <= 1500)
      const acks = `p50 ${ms(o.ackP50Ms)}, ${Math.round(o.acceptedSpans / o.seconds)} spans/s acked`
      row('overload: ack p99', `${ms(o.ackP99Ms)} (${acks})`, '≤ 10 s', o.ackP99Ms <= 10_000)
      row(
        'overload: 429 counted',
        `${o.counted429 ?? 'no /metrics'} counted${o.series.length === 0 ? ' (no 429 series)' : ''}, ${o.sent429} sent`,
        'counted = sent',
        o.counted429 === o.sent429,
      )
      row('recovery: first ack', ms(o.recoveryMs), '≤ 10 s', o.recoveryMs !== null && o.recoveryMs <= 10_000)
      row('recovery: small batch p50', ms(o.smallAckP50Ms), '≤ 1 s', o.smallAckP50Ms <= 1000)
      figures.overload = {
        peakRssMB: round(o.peakRssMB),
        ackP50Ms: round(o.ackP50Ms),
        ackP99Ms: round(o.ackP99Ms),
        sent429: o.sent429,
        counted429: o.counted429,
        series429: o.series,
        spansPerSec: Math.round(o.acceptedSpans / o.seconds),
        statuses: o.statuses.counts,
      }
      figures.recoveryMs = round(o.recoveryMs)
      figures.recoverySmallAckP50Ms = round(o.smallAckP50Ms)
    }
  }
}

if (process.env.FAULTS_KEEP_DATA !== '1') removeDataDirs()

const widths = [0, 1, 2].map((i) =>
  Math.max(...rows.map((r) => [r.scenario, r.figure, r.target][i]?.length ?? 0), 8),
)
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')
console.log(line(['scenario', 'figure', 'target', 'pass']))
console.log(`${widths.map((w) => '-'.repeat(w)).join('-|-')}-|-----`)
for (const r of rows)
  console.log(line([r.scenario, r.figure, r.target, r.pass === null ? '-' : r.pass ? 'pass' : 'FAIL']))
const pass = rows.length > 0 && rows.every((r) => r.pass !== false)
console.log(JSON.stringify({ ...figures, ...(Object.keys(errors).length > 0 ? { errors } : {}), pass }))
