import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RuleOfKind, ruleValues } from '../../alerts/rules.ts'
import { loadBatches } from '../../core/batches.ts'
import { loadFlows } from '../../core/flows.ts'
import { cloudEvent, configWithBatches } from '../support/batches.ts'
import { sendEvents } from '../support/events.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

const MIN = 60_000
const now = Date.now()
// Every minute, with graces that decide the outcome whatever the minute: `posting` ran 5 minutes ago
// within its hour of grace; `export` last ran 3 hours ago, past its 10 minutes; `ledger` never ran.
const config = configWithBatches(`
timezone: UTC
jobs:
  posting: { schedule: "* * * * *", grace: 1h, system: pos, description: a store's sales }
  export: { schedule: "* * * * *", grace: 10m, system: erp }
  ledger: { schedule: "* * * * *", grace: 10m, system: erp }
`)

const run = (
  job: string,
  runId: string,
  startedAt: number,
  end?: { type: string; at: number; data: object },
) => [
  cloudEvent('retail.batch.started', runId, startedAt, {
    job,
    runId,
    businessDay: '2026-11-30',
    rows: 0,
    rejected: 0,
  }),
  ...(end
    ? [cloudEvent(end.type, runId, end.at, { job, runId, businessDay: '2026-11-30', ...end.data })]
    : []),
]

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_CONFIG_DIR: config })
  await sendEvents(sb.collectorUrl, [
    ...run('posting', 'RUN-1', now - 65 * MIN, {
      type: 'retail.batch.failed',
      at: now - 64 * MIN,
      data: { rows: 0, rejected: 12, error: 'ERP unavailable' },
    }),
    ...run('posting', 'RUN-2', now - 5 * MIN, {
      type: 'retail.batch.completed',
      at: now - 5 * MIN + 90_000,
      data: { rows: 118, rejected: 2 },
    }),
    ...run('export', 'RUN-3', now - 180 * MIN, {
      type: 'retail.batch.completed',
      at: now - 170 * MIN,
      data: { rows: 40, rejected: 0 },
    }),
    ...run('adhoc', 'RUN-4', now - 2 * MIN),
  ])
})
afterAll(async () => {
  await sb?.close()
})

type Job = { job: string; state: string } & Record<string, unknown>
type Body = { jobs: Job[]; runs: Array<{ runId: string }>; missed: number }
const get = async (path: string) => {
  const res = await fetch(`${sb.apiUrl}${path}`)
  return { status: res.status, body: (await res.json()) as Body }
}

describe('GET /api/batches', () => {
  it('shows every declared job and every job heard from, with its runs, rows, rejects and state', async () => {
    const { status, body } = await get('/api/batches')
    expect(status).toBe(200)
    const jobs = Object.fromEntries(body.jobs.map((j) => [j.job, j]))
    expect(Object.keys(jobs).sort()).toEqual(['adhoc', 'export', 'ledger', 'posting'])
    expect(jobs.posting).toMatchObject({
      declared: true,
      system: 'pos',
      schedule: '* * * * *',
      state: 'ok',
      runs: 2,
      failed: 1,
      rows: 118,
      rejected: 14,
      averageDurationMs: (60_000 + 90_000) / 2,
      lastRun: { runId: 'RUN-2', status: 'completed', rows: 118, rejected: 2, durationMs: 90_000 },
    })
    expect(jobs.export?.state).toBe('missed')
    expect(jobs.ledger).toMatchObject({ state: 'missed', runs: 0, lastRun: null })
    expect(jobs.adhoc).toMatchObject({ declared: false, state: 'undeclared', lastRun: { status: 'running' } })
    expect(body.missed).toBe(2)
  })

  it('lists one job’s runs, newest first, with the failed run’s error', async () => {
    const { status, body } = await get('/api/batches/posting/runs')
    expect(status).toBe(200)
    expect(body.runs.map((r) => r.runId)).toEqual(['RUN-2', 'RUN-1'])
    expect(body.runs[1]).toMatchObject({
      status: 'failed',
      error: 'ERP unavailable',
      businessDay: '2026-11-30',
    })
  })

  it('answers 404 for a job neither declared nor heard from, and 400 for a bad name or range', async () => {
    expect((await get('/api/batches/nothing/runs')).status).toBe(404)
    expect((await get('/api/batches/ledger/runs')).status).toBe(200)
    expect((await get(`/api/batches/${encodeURIComponent('a b')}/runs`)).status).toBe(400)
    expect((await get('/api/batches?from=yesterday')).status).toBe(400)
  })
})

describe('the batch rule kinds', () => {
  const ctx = () => ({ store: sb.store, flows: loadFlows(config), batches: loadBatches(config) })

  it('batch_missed: a declared job not heard from by its schedule plus its grace', async () => {
    const values = await ruleValues(ctx(), { kind: 'batch_missed', settings: {} } as RuleOfKind, new Date())
    const over = Object.fromEntries(values.map((v) => [v.labels.job, v.over]))
    expect(over).toEqual({ posting: false, export: true, ledger: true })
    expect(values.find((v) => v.labels.job === 'export')?.labels.system).toBe('erp')
  })

  it('batch_failed: a job whose last finished run failed, or rejected too many rows', async () => {
    const rule = { kind: 'batch_failed', settings: { within: 86_400_000, rejected_above: 1 } } as RuleOfKind
    const values = await ruleValues(ctx(), rule, new Date())
    const over = Object.fromEntries(values.map((v) => [v.labels.job, v.over]))
    // posting's last run completed with 2 rejected (over 1); its failed run before it no longer counts.
    expect(over).toEqual({ posting: true, export: false })
    const strict = { kind: 'batch_failed', settings: { within: 86_400_000 } } as RuleOfKind
    expect((await ruleValues(ctx(), strict, new Date())).filter((v) => v.over)).toEqual([])
  })
})
