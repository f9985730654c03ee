import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { customer } from '../../connectors/estate/customers.ts'
import type { Order } from '../../connectors/order-to-cash/order.ts'
import { useDemo } from '../support/demo.ts'
import { until } from '../support/until.ts'

// The loop guard at 2 replays per exception, so the test can reach it.
const fixture = useDemo({ env: { SIGNALBOX_REPLAY_LIMIT: '2' } })
const erp = () => fixture.demo.estate.erp
const connector = () => fixture.demo.orderToCash

const order = (orderId: string, postalCode?: string): Order => {
  const c = customer(Number(orderId.replace(/\D/g, '')) || 1)
  return {
    orderId,
    channel: 'web',
    fulfilment: 'ship',
    customer: postalCode ? { ...c, address: { ...c.address, postalCode } } : c,
    lines: [{ sku: 'SKU-2', quantity: 1, unitPrice: 42 }],
  }
}

interface Exception {
  id: string
  status: string
  entity: { id: string }
  replays: number
  occurrences: number
  error: { class: string }
  statusBy: string
  statusReason: string
  payload: { customer: Record<string, unknown> }
}

async function api<T>(path: string, init: { method?: string; json?: unknown } = {}) {
  const res = await fetch(`${fixture.sb.apiUrl}${path}`, {
    method: init.method ?? (init.json ? 'POST' : 'GET'),
    headers: init.json ? { 'content-type': 'application/json', 'x-signalbox-user': 'ops@example.com' } : {},
    body: init.json ? JSON.stringify(init.json) : undefined,
  })
  return { status: res.status, body: (await res.json()) as T }
}

const exceptionsOf = async (ids: readonly string[]) =>
  (
    await api<{ exceptions: Exception[] }>('/api/exceptions?connector=order-to-cash&limit=1000')
  ).body.exceptions.filter((e) => ids.includes(e.entity.id))

async function failWhileErpDown(ids: readonly string[]) {
  erp().faults.outage = true
  try {
    for (const id of ids) expect((await connector().run('post_sales_order', order(id))).status).toBe('failed')
  } finally {
    erp().faults.outage = false
  }
}

describe('replaying exceptions through connector callbacks', () => {
  it('after an ERP outage, a bulk replay by filter posts every affected order to the ERP exactly once', async () => {
    const ids = ['RP-101', 'RP-102', 'RP-103', 'RP-104', 'RP-105']
    await failWhileErpDown(ids)
    expect((await exceptionsOf(ids)).map((e) => e.status)).toEqual(['open', 'open', 'open', 'open', 'open'])

    const filter = { connector: 'order-to-cash', errorClass: 'erp.http_503', step: 'post_sales_order' }
    const dry = await api<{ count: number; exceptions: Array<{ entity: { id: string } }> }>(
      '/api/exceptions/replay',
      {
        json: { filter, dryRun: true },
      },
    )
    expect(dry.status).toBe(200)
    expect(
      dry.body.exceptions
        .map((e) => e.entity.id)
        .filter((id) => ids.includes(id))
        .sort(),
    ).toEqual(ids)
    expect(dry.body.count).toBeGreaterThanOrEqual(5)
    expect((await exceptionsOf(ids)).every((e) => e.status === 'open')).toBe(true) // a dry run changes nothing

    const created = await api<{ job: { id: string; status: string } }>('/api/exceptions/replay', {
      json: { filter, perMinute: 6000, reason: 'ERP back after the outage' },
    })
    expect(created.status).toBe(201)
    const job = await until(
      async () =>
        (
          await api<{ job: { status: string; progress: Record<string, number> } }>(
            `/api/replay-jobs/${created.body.job.id}`,
          )
        ).body.job,
      (j) => j.status === 'done',
      { what: 'the bulk replay to finish' },
    )
    expect(job.progress).toMatchObject({ remaining: 0, failed: 0 })
    for (const id of ids) expect(erp().salesOrdersFor(id)).toHaveLength(1)
    expect((await exceptionsOf(ids)).map((e) => e.status)).toEqual([
      'resolved',
      'resolved',
      'resolved',
      'resolved',
      'resolved',
    ])

    // The lifecycle shows the ERP stage completed by the replay, and the audit trail has each one.
    const lifecycle = await api<{ stages: Array<{ name: string; status: string; replayId: string | null }> }>(
      `/api/orders/${ids[0]}/lifecycle`,
    )
    const erpStage = lifecycle.body.stages.find((s) => s.name === 'erp_posted')
    expect(erpStage?.status).toBe('done')
    expect(erpStage?.replayId).toMatch(/^rpl_/)
    const timeline = (
      await api<{ timeline: Array<{ kind: string; name: string; replayId?: string }> }>(
        `/api/orders/${ids[0]}/lifecycle`,
      )
    ).body.timeline
    expect(timeline.find((t) => t.kind === 'replay')).toMatchObject({
      name: 'replay post_sales_order by ops@example.com: succeeded',
      replayId: erpStage?.replayId,
    })
    const trail = await api<{
      replays: Array<{
        status: string
        requestedBy: string
        reason: string
        traceId: string
        originalTraceId: string
      }>
    }>(`/api/replays?job=${created.body.job.id}`)
    expect(trail.body.replays).toHaveLength(dry.body.count)
    expect(trail.body.replays[0]).toMatchObject({
      status: 'succeeded',
      requestedBy: 'ops@example.com',
      reason: 'ERP back after the outage',
    })
    expect(trail.body.replays[0]?.traceId).not.toBe(trail.body.replays[0]?.originalTraceId)
  })

  it('fixes a malformed-address failure with an edited payload, keeping the diff (not the personal data) in the audit', async () => {
    expect((await connector().run('post_sales_order', order('RP-201', '!!'))).status).toBe('failed')
    const [e] = await exceptionsOf(['RP-201'])
    expect(e?.error.class).toBe('erp.http_422')
    // The address is sealed personal data; the operator types the corrected one.
    const edited = {
      ...e?.payload,
      customer: {
        ...e?.payload.customer,
        address: { line1: '5 Quay Street', city: 'Dublin', postalCode: 'D02 X285' },
      },
    }
    const replay = await api<{ replay: { status: string; diff: Array<{ path: string; value?: unknown }> } }>(
      `/api/exceptions/${e?.id}/replay`,
      {
        json: {
          reason: 'postal code corrected from the customer call',
          payload: edited,
          approvedBy: 'lead@example.com',
        },
      },
    )
    expect(replay.status).toBe(200)
    expect(replay.body.replay.status).toBe('succeeded')
    expect(erp().salesOrdersFor('RP-201')).toHaveLength(1)
    const [audit] = (
      await api<{
        replays: Array<{
          payloadDiff: Array<{ op: string; path: string; value?: unknown }>
          approvedBy: string
        }>
      }>(`/api/replays?exception=${e?.id}`)
    ).body.replays
    expect(audit?.approvedBy).toBe('lead@example.com')
    expect(audit?.payloadDiff.map((op) => op.path)).toContain('/customer/address/postalCode')
    expect(JSON.stringify(audit?.payloadDiff)).not.toContain('Quay Street')
    expect(JSON.stringify(audit?.payloadDiff)).toContain('[personal data, not kept]')
  })

  it('stops an exception after the replay limit (the loop guard)', async () => {
    await failWhileErpDown(['RP-301'])
    const [e] = await exceptionsOf(['RP-301'])
    erp().faults.outage = true
    onTestFinished(() => {
      erp().faults.outage = false
    })
    for (let i = 0; i < 2; i++) {
      const r = await api<{ replay: { status: string } }>(`/api/exceptions/${e?.id}/replay`, {
        json: { reason: 'try again' },
      })
      expect(r.body.replay.status).toBe('failed')
    }
    const [after] = await exceptionsOf(['RP-301'])
    expect(after).toMatchObject({ status: 'failed-again', replays: 2 })
    const third = await api<{ error: { code: string; message: string } }>(`/api/exceptions/${e?.id}/replay`, {
      json: { reason: 'once more' },
    })
    expect(third.status).toBe(409)
    expect(third.body.error.message).toMatch(/loop guard/)
  })

  it('leaves the exception open and counted when the connector callback answers 500', async () => {
    const broken = createServer((_req, res) =>
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom"}}'),
    )
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => new Promise<void>((resolve) => broken.close(() => resolve())))
    const url = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/callbacks`
    expect(
      (
        await api('/api/connectors', {
          json: { id: 'broken-connector', system: 'erp', flows: ['order_to_cash'], callbackUrl: url },
        })
      ).status,
    ).toBe(201)
    const reported = await api<{ id: string }>('/api/exceptions', {
      json: {
        connector: 'broken-connector',
        flow: 'order_to_cash',
        step: 'post_sales_order',
        entity: { type: 'order', id: 'RP-401' },
        payload: { orderId: 'RP-401' },
        error: { class: 'erp.http_503', message: 'unavailable' },
        attempts: 4,
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
      },
    })
    const r = await api<{
      replay: { status: string; httpStatus: number; error: string }
      exception: { status: string; replays: number }
    }>(`/api/exceptions/${reported.body.id}/replay`, { json: { reason: 'retry' } })
    expect(r.body.replay).toMatchObject({ status: 'error', httpStatus: 500, error: 'boom' })
    expect(r.body.exception).toMatchObject({ status: 'open', replays: 1 })
  })

  it('pauses, resumes and cancels a bulk job; a cancelled job sends nothing more', async () => {
    const ids = ['RP-501', 'RP-502', 'RP-503']
    const from = new Date().toISOString()
    await failWhileErpDown(ids)
    // One a minute: the first goes at once, the rest wait.
    const created = await api<{ job: { id: string } }>('/api/exceptions/replay', {
      json: {
        filter: { connector: 'order-to-cash', step: 'post_sales_order', errorClass: 'erp.http_503', from },
        perMinute: 1,
        reason: 'slowly',
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const id = created.body.job.id
    const progress = async () =>
      (
        await api<{ job: { status: string; progress: { succeeded: number; remaining: number } } }>(
          `/api/replay-jobs/${id}`,
        )
      ).body.job
    await until(progress, (j) => j.progress.succeeded === 1, { what: 'the first replay of the job' })
    expect(
      (await api<{ job: { status: string } }>(`/api/replay-jobs/${id}/pause`, { json: {} })).body.job.status,
    ).toBe('paused')
    expect(
      (await api<{ job: { status: string } }>(`/api/replay-jobs/${id}/resume`, { json: {} })).body.job.status,
    ).toBe('running')
    expect(
      (await api<{ job: { status: string } }>(`/api/replay-jobs/${id}/cancel`, { json: {} })).body.job.status,
    ).toBe('cancelled')
    const resumeCancelled = await api(`/api/replay-jobs/${id}/resume`, { json: {} })
    expect(resumeCancelled.status).toBe(409)
    const after = await progress()
    expect(after).toMatchObject({ status: 'cancelled', progress: { succeeded: 1, remaining: 2 } })
    expect(ids.filter((o) => erp().salesOrdersFor(o).length === 1)).toHaveLength(1)
  })

  it('resolves an exception by itself when a later run of the same step succeeds', async () => {
    await failWhileErpDown(['RP-601'])
    expect((await connector().run('post_sales_order', order('RP-601'))).status).toBe('succeeded')
    const [resolved] = await until(
      () => exceptionsOf(['RP-601']),
      (list) => list[0]?.status === 'resolved',
      { what: 'the superseded exception to resolve' },
    )
    expect(resolved).toMatchObject({
      statusBy: 'signalbox',
      statusReason: expect.stringContaining('a later run of post_sales_order succeeded'),
    })
  })
})

describe('a replay the network delivers twice', () => {
  it('posts the sales order once: the replay id is the idempotency key', async () => {
    const { callConnector } = await import('../../api/replay/callback.ts')
    await failWhileErpDown(['RP-701'])
    const [e] = await exceptionsOf(['RP-701'])
    const body = {
      kind: 'replay' as const,
      connector: 'order-to-cash',
      step: 'post_sales_order',
      payload: e?.payload,
      exceptionId: e?.id,
    }
    const secret = fixture.sb.config.replay.callbackSecret
    const [first, second] = await Promise.all([
      callConnector(fixture.demo.callbackUrl, secret, 'rpl_network-retry', body),
      callConnector(fixture.demo.callbackUrl, secret, 'rpl_network-retry', body),
    ])
    // One ran; the other was told it is running (409) or answered from the first's outcome.
    expect([first.httpStatus, second.httpStatus].sort()).toEqual(expect.arrayContaining([200]))
    const again = await callConnector(fixture.demo.callbackUrl, secret, 'rpl_network-retry', body)
    expect(again.outcome?.status).toBe('succeeded')
    expect(erp().salesOrdersFor('RP-701')).toHaveLength(1)
  })
})

describe('checks and re-syncs', () => {
  it("refuses an edited payload that does not fit the step's declared schema, and sends nothing", async () => {
    await failWhileErpDown(['RP-801'])
    const [e] = await exceptionsOf(['RP-801'])
    const broken = { ...e?.payload, lines: [{ sku: 'SKU-2', quantity: -1, unitPrice: 42 }] }
    const r = await api<{ error: { code: string; message: string } }>(`/api/exceptions/${e?.id}/replay`, {
      json: { reason: 'typo', payload: broken },
    })
    expect(r.status).toBe(400)
    expect(r.body.error).toMatchObject({
      code: 'invalid_payload',
      message: expect.stringContaining('/lines/0/quantity'),
    })
    // Sealed personal data the operator left alone is not judged: only the real problem is named.
    expect(r.body.error.message).not.toContain('/customer')
    expect((await api<{ replays: unknown[] }>(`/api/replays?exception=${e?.id}`)).body.replays).toEqual([])
    expect((await exceptionsOf(['RP-801']))[0]).toMatchObject({ status: 'open', replays: 0 })
  })

  it('re-syncs an order from the storefront through the same connector code, and its exception resolves', async () => {
    erp().faults.outage = true
    const { order: placed } = await fixture.demo.placeOrder()
    await until(
      () => exceptionsOf([placed.orderId]),
      (list) => list.length === 1,
      { what: 'the exception' },
    )
    erp().faults.outage = false
    const r = await api<{ resync: { status: string; step: string; connector: string } }>(
      `/api/entities/order/${placed.orderId}/resync`,
      { json: { reason: 'customer called' } },
    )
    expect(r.status).toBe(200)
    expect(r.body.resync).toMatchObject({ status: 'succeeded', step: 'capture', connector: 'order-to-cash' })
    // The flow after capture runs as its own steps; the ERP posting arrives once.
    await until(
      async () => erp().salesOrdersFor(placed.orderId).length,
      (n) => n > 0,
      { what: 'the sales order' },
    )
    expect(erp().salesOrdersFor(placed.orderId)).toHaveLength(1)
    await until(
      () => exceptionsOf([placed.orderId]),
      (list) => list[0]?.status === 'resolved',
      { what: 'the exception to resolve' },
    )

    const unknown = await api<{ resync: { status: string; httpStatus: number } }>(
      '/api/entities/order/SO-NOWHERE/resync',
      {
        json: { reason: 'check' },
      },
    )
    expect(unknown.body.resync).toMatchObject({ status: 'error', httpStatus: 404 })
    const none = await api<{ error: { code: string } }>('/api/entities/sku/SKU-1/resync', {
      json: { reason: 'check' },
    })
    expect(none.status).toBe(409)
  })
})

describe('a bulk job after a restart', () => {
  it('carries on from the store, re-sending a replay cut off mid-flight under its id (the connector runs it once)', async () => {
    const { appendReplay, saveJob } = await import('../../store/queries/replays.ts')
    const { callConnector } = await import('../../api/replay/callback.ts')
    const ids = ['RP-901', 'RP-902']
    await failWhileErpDown(ids)
    const [first, second] = await exceptionsOf(ids)
    if (!first || !second) throw new Error('no exceptions')
    // Before the "crash": the job had sent the first exception, the connector ran it, and the api
    // died before recording the outcome.
    const jobId = 'job_restart-test'
    const replayId = `rpl_${jobId.slice(4)}_${first.id}`
    const now = Date.now()
    const ran = await callConnector(
      fixture.demo.callbackUrl,
      fixture.sb.config.replay.callbackSecret,
      replayId,
      {
        kind: 'replay',
        connector: 'order-to-cash',
        step: 'post_sales_order',
        payload: first.payload,
        exceptionId: first.id,
      },
    )
    expect(ran.outcome?.status).toBe('succeeded')
    await appendReplay(fixture.sb.store, {
      atMs: now,
      id: replayId,
      kind: 'replay',
      exceptionId: first.id,
      jobId,
      connector: 'order-to-cash',
      step: 'post_sales_order',
      entity: { type: 'order', id: first.entity.id },
      status: 'running',
      requestedBy: 'ops@example.com',
      reason: 'before the restart',
      payloadDiff: '[]',
      approvedBy: '',
      httpStatus: 0,
      error: '',
      originalTraceId: '',
      traceId: '',
    })
    await saveJob(fixture.sb.store, {
      id: jobId,
      filter: '{}',
      exceptionIds: [first.id, second.id],
      status: 'running',
      perMinute: 6000,
      requestedBy: 'ops@example.com',
      reason: 'before the restart',
      createdAtMs: now,
      updatedAtMs: now,
    })
    // The running api picks the job up from the store, as a restarted one would.
    const job = await until(
      async () =>
        (
          await api<{ job: { status: string; progress: Record<string, number> } }>(
            `/api/replay-jobs/${jobId}`,
          )
        ).body.job,
      (j) => j.status === 'done',
      { what: 'the resumed job to finish' },
    )
    expect(job.progress).toMatchObject({ succeeded: 2, remaining: 0 })
    for (const id of ids) expect(erp().salesOrdersFor(id)).toHaveLength(1)
  })
})

describe('a re-sync several connectors could run', () => {
  it('goes to the connector that handled the entity, and asks which when none did', async () => {
    // Another connector registers a re-sync step for orders under an id that sorts first.
    const calls: string[] = []
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        calls.push(body)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ status: 'succeeded' }))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => void server.close())
    const registered = await api('/api/connectors', {
      json: {
        id: '0-another',
        system: 'erp',
        flows: ['order_to_cash'],
        callbackUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks`,
        steps: [{ name: 'capture', flow: 'order_to_cash', resync: true }],
      },
    })
    expect(registered.status).toBe(201)
    calls.length = 0 // its registration's probe

    const { order: placed } = await fixture.demo.placeOrder()
    await until(
      async () =>
        (await api<{ timeline?: Array<{ kind: string }> }>(`/api/orders/${placed.orderId}/lifecycle`)).body
          .timeline ?? [],
      (timeline) => timeline.some((t) => t.kind === 'span'),
      { what: "the order-to-cash connector's spans in the index" },
    )
    const r = await api<{ resync: { connector: string } }>(`/api/entities/order/${placed.orderId}/resync`, {
      json: { reason: 'customer called' },
    })
    expect(r.status).toBe(200)
    expect(r.body.resync.connector).toBe('order-to-cash')
    expect(calls.filter((c) => c.includes('resync'))).toEqual([])

    const unknown = await api<{ error: { code: string; message: string } }>(
      '/api/entities/order/SO-HANDLED-BY-NONE/resync',
      { json: { reason: 'check' } },
    )
    expect(unknown.status).toBe(409)
    expect(unknown.body.error).toMatchObject({ code: 'ambiguous_resync' })
    expect(unknown.body.error.message).toContain('0-another')
    expect(calls.filter((c) => c.includes('resync'))).toEqual([])
  })
})
