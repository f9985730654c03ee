import { describe, expect, it, onTestFinished } from 'vitest'
import { customer } from '../../connectors/estate/customers.ts'
import type { Order } from '../../connectors/order-to-cash/order.ts'
import { useDemo } from '../support/demo.ts'
import { until } from '../support/until.ts'

// Bulk replays that tell the truth: how a job ended, why each item did not replay, and a launch that
// runs only what its dry run confirmed.
const fixture = useDemo()
const erp = () => fixture.demo.estate.erp
const connector = () => fixture.demo.orderToCash

const order = (orderId: string): Order => ({
  orderId,
  channel: 'web',
  fulfilment: 'ship',
  customer: customer(Number(orderId.replace(/\D/g, '')) || 1),
  lines: [{ sku: 'SKU-2', quantity: 1, unitPrice: 42 }],
})

async function api<T>(path: string, init: { json?: unknown } = {}) {
  const res = await fetch(`${fixture.sb.apiUrl}${path}`, {
    method: init.json ? 'POST' : 'GET',
    headers: init.json ? { 'content-type': 'application/json', 'x-signalbox-user': 'ops@example.com' } : {},
    body: init.json ? JSON.stringify(init.json) : undefined,
  })
  return { status: res.status, body: (await res.json()) as T }
}

/** Orders the ERP refused during an outage: open exceptions of the order-to-cash connector. */
async function failWhileErpDown(ids: readonly string[]) {
  erp().faults.outage = true
  try {
    for (const id of ids) expect((await connector().run('post_sales_order', order(id))).status).toBe('failed')
  } finally {
    erp().faults.outage = false
  }
}

/** An exception reported by a connector that never registered a callback: it cannot be replayed. */
const reportUnreplayable = (orderId: string) =>
  api<{ id: string }>('/api/exceptions', {
    json: {
      connector: 'ghost-connector',
      flow: 'order_to_cash',
      step: 'post_sales_order',
      entity: { type: 'order', id: orderId },
      payload: { orderId },
      error: { class: 'erp.http_503', message: 'the ERP was down' },
      attempts: 3,
      traceId: 'c'.repeat(32),
      spanId: 'd'.repeat(16),
    },
  })

/** Exceptions from this test on: each test's job takes its own. */
const since = () => new Date(Date.now() - 1).toISOString()

interface Job {
  status: string
  outcome: string | null
  progress: { total: number; succeeded: number; failed: number; remaining: number }
  failures: Array<{ exceptionId: string; entity: { id: string }; status: string; error: string }>
  replayed: Array<{ entityType: string; connector: string; step: string; count: number }>
}

const launch = async (filter: object, reason: string) => {
  const created = await api<{ job: { id: string } }>('/api/exceptions/replay', {
    json: { filter, perMinute: 6000, reason },
  })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  return until(
    async () => (await api<{ job: Job }>(`/api/replay-jobs/${created.body.job.id}`)).body.job,
    (j) => j.status === 'done',
    { what: 'the bulk replay to finish' },
  )
}

describe('a bulk replay says how it ended', () => {
  it('a job where every replay failed ends "failed", with the reason for each exception', async () => {
    const ids = ['RO-101', 'RO-102', 'RO-103']
    const from = since()
    await failWhileErpDown(ids)
    erp().faults.outage = true
    onTestFinished(() => {
      erp().faults.outage = false
    })
    const job = await launch({ connector: 'order-to-cash', from }, 'ERP back? (it is not)')
    expect(job.outcome).toBe('failed')
    expect(job.progress).toMatchObject({ total: 3, succeeded: 0, failed: 3, remaining: 0 })
    expect(job.failures.map((f) => f.entity.id).sort()).toEqual(ids)
    for (const f of job.failures) {
      expect(f.exceptionId).not.toBe('')
      expect(f.status).toBe('failed')
      expect(f.error).toContain('erp.http_503')
    }
    for (const id of ids) expect(erp().salesOrdersFor(id)).toHaveLength(0)
  })

  it('a job where some replays failed ends "partly_failed"; an item that cannot be sent says why and the job moves on', async () => {
    const from = since()
    await failWhileErpDown(['RO-201'])
    const ghost = await reportUnreplayable('RO-202')
    const job = await launch({ flow: 'order_to_cash', from }, 'after the fix')
    expect(job.outcome).toBe('partly_failed')
    expect(job.progress).toMatchObject({ total: 2, succeeded: 1, failed: 1, remaining: 0 })
    expect(job.failures).toEqual([
      expect.objectContaining({
        exceptionId: ghost.body.id,
        entity: { type: 'order', id: 'RO-202' },
        status: 'error',
        error: expect.stringContaining('has not registered a callback URL'),
      }),
    ])
    expect(erp().salesOrdersFor('RO-201')).toHaveLength(1)
  })

  it('a job where every replay succeeded ends "succeeded" with no failures', async () => {
    const from = since()
    await failWhileErpDown(['RO-301'])
    const job = await launch({ connector: 'order-to-cash', from }, 'after the fix')
    expect(job).toMatchObject({ outcome: 'succeeded', failures: [], progress: { succeeded: 1, failed: 0 } })
    // What it changed, for the page to say in words.
    expect(job.replayed).toEqual([
      { entityType: 'order', connector: 'order-to-cash', step: 'post_sales_order', count: 1 },
    ])
  })
})

describe('a bulk replay runs what its dry run confirmed', () => {
  it('honours the Status filter in the dry run, and answers the filter back to be sent with the launch', async () => {
    const from = since()
    await failWhileErpDown(['RO-401'])
    const dry = (filter: object) =>
      api<{ count: number; filter: object }>('/api/exceptions/replay', { json: { filter, dryRun: true } })
    const open = await dry({ connector: 'order-to-cash', from, status: 'open' })
    expect(open.body).toMatchObject({
      count: 1,
      filter: { connector: 'order-to-cash', from, status: 'open' },
    })
    // Filtered to resolved ones, none is replayable: the dry run offers nothing, as the list shows none.
    const resolved = await dry({ connector: 'order-to-cash', from, status: 'resolved' })
    expect(resolved.body).toMatchObject({ count: 0, filter: { status: 'resolved' } })
    const bad = await dry({ connector: 'order-to-cash', from, status: 'sleeping' })
    expect(bad.status).toBe(400)
  })

  it('refuses a launch when the filter matches another number than the dry run confirmed, and starts nothing', async () => {
    const filter = { connector: 'order-to-cash', from: since() }
    await failWhileErpDown(['RO-501'])
    const dry = await api<{ count: number }>('/api/exceptions/replay', { json: { filter, dryRun: true } })
    expect(dry.body.count).toBe(1)
    // A second failure arrives between the confirmation and the launch.
    await failWhileErpDown(['RO-502'])
    const jobsBefore = (await api<{ jobs: unknown[] }>('/api/replay-jobs')).body.jobs.length
    const stale = await api<{ error: { code: string; message: string } }>('/api/exceptions/replay', {
      json: { filter, reason: 'as confirmed', confirmedCount: dry.body.count },
    })
    expect(stale.status).toBe(409)
    expect(stale.body.error).toMatchObject({ code: 'stale_dry_run' })
    expect(stale.body.error.message).toContain('matches 2 exceptions now, not the 1 confirmed')
    expect((await api<{ jobs: unknown[] }>('/api/replay-jobs')).body.jobs).toHaveLength(jobsBefore)
    const confirmed = await api('/api/exceptions/replay', {
      json: { filter, reason: 'as confirmed', confirmedCount: 2, perMinute: 6000 },
    })
    expect(confirmed.status).toBe(201)
  })
})
