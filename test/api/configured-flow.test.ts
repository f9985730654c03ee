import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { hc } from 'hono/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { AppType } from '../../api/app.ts'
import { configWithTransferFlow, transferEvent } from '../support/configured-flow.ts'
import { sendEvents } from '../support/events.ts'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * config/flows.yaml says a new flow needs no code change. Here one is added in a copy of config/
 * (store_transfer, following transfer orders, an entity type Signalbox does not know by itself),
 * Signalbox is started on it, and the flow's events and spans come back through the api.
 */

let sb: TestSignalbox
let configDir: string
let api: ReturnType<typeof hc<AppType>>['api']
const HOUR = 3_600_000
const base = Date.now() - 3 * HOUR

beforeAll(async () => {
  configDir = configWithTransferFlow()
  sb = await startSignalbox({ SIGNALBOX_CONFIG_DIR: configDir })
  api = hc<AppType>(sb.apiUrl).api
  await sendEvents(sb.collectorUrl, [
    transferEvent('created', 'TO-1', base, { system: 'erp' }),
    transferEvent('sent', 'TO-1', base + 60_000, { system: 'supplier-portal' }),
    // Created three hours ago and never sent: overdue by the flow's hour.
    transferEvent('created', 'TO-2', base, { system: 'erp' }),
    transferEvent('created', 'TO-3', base, { system: 'erp' }),
    transferEvent('cancelled', 'TO-4', base, { system: 'erp' }),
  ])
})
afterAll(async () => {
  await sb?.close()
  rmSync(configDir, { recursive: true, force: true })
})

async function lifecycle(type: string, id: string) {
  const res = await api.entities[':type'][':id'].lifecycle.$get({ param: { type, id } })
  expect(res.status).toBe(200)
  return res.json()
}

describe('a flow added in configuration, with no code change', () => {
  it('is listed with its entity type and stages', async () => {
    const { flows } = await (await api.flows.$get()).json()
    // The shipped flows, in their order, then the one added here.
    const shipped = Object.keys(
      parse(readFileSync(join(import.meta.dirname, '../../config/flows.yaml'), 'utf8')) as object,
    )
    expect(flows.map((f) => f.name)).toEqual([...shipped, 'store_transfer'])
    const transfer = flows.find((f) => f.name === 'store_transfer')
    expect(transfer?.entity).toBe('transfer_order')
    expect(transfer?.stages.map((s) => [s.name, s.events, s.maxDelayMs])).toEqual([
      ['created', ['retail.transfer_order.created'], null],
      ['sent', ['retail.transfer_order.sent'], HOUR],
    ])
    expect(transfer?.terminal.map((t) => t.name)).toEqual(['cancelled'])
  })

  it("answers its entities' lifecycles through the route for any entity type", async () => {
    const done = await lifecycle('transfer_order', 'TO-1')
    expect(done.entity).toEqual({ type: 'transfer_order', id: 'TO-1' })
    expect(done.flow).toBe('store_transfer')
    expect(done.status).toBe('completed')
    expect(done.stages.map((s) => [s.name, s.status, s.system])).toEqual([
      ['created', 'done', 'erp'],
      ['sent', 'done', 'supplier-portal'],
    ])
    expect(done.timeline.map((t) => t.name)).toEqual([
      'retail.transfer_order.created',
      'retail.transfer_order.sent',
    ])
    const late = await lifecycle('transfer_order', 'TO-2')
    expect(late.status).toBe('stuck')
    expect(late.stages.map((s) => s.status)).toEqual(['done', 'late'])
    expect((await lifecycle('transfer_order', 'TO-4')).status).toBe('cancelled')
    const unknown = await api.entities[':type'][':id'].lifecycle.$get({
      param: { type: 'transfer_order', id: 'TO-NONE' },
    })
    expect(unknown.status).toBe(404)
  })

  it('completes a stage from a span keyed by the attribute entity-keys.yaml names for it', async () => {
    const span = readableSpan({
      traceId: 'b1b2c3d4e5f60718293a4b5c6d7e8f90',
      spanId: '2a2b3c4d5e6f7081',
      name: 'sync store_transfer.send_transfer',
      startMs: base + 120_000,
      durationMs: 20,
      attributes: {
        'retail.transfer_order.id': 'TO-3',
        'integration.stage': 'sent',
        'integration.system': 'supplier-portal',
      },
    })
    const res = await fetch(`${sb.collectorUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: ProtobufTraceSerializer.serializeRequest([span]) as BodyInit,
    })
    expect(res.status).toBe(200)
    const l = await lifecycle('transfer_order', 'TO-3')
    expect(l.stages.map((s) => [s.name, s.status])).toEqual([
      ['created', 'done'],
      ['sent', 'done'],
    ])
    expect(l.stages[1]?.traceId).toBe('b1b2c3d4e5f60718293a4b5c6d7e8f90')
  })

  it('lists its overdue entities, measures it, and finds its entities by search', async () => {
    const stuck = await (
      await api.flows[':flow'].stuck.$get({ param: { flow: 'store_transfer' }, query: {} })
    ).json()
    const overdue = stuck.stuck.map((s) => [s.entity.type, s.entity.id, s.overdueStage])
    expect(overdue).toContainEqual(['transfer_order', 'TO-2', 'sent'])
    expect(overdue.map(([, id]) => id)).not.toContain('TO-1')
    expect(overdue.map(([, id]) => id)).not.toContain('TO-4')
    const metrics = await (
      await api.flows[':flow'].metrics.$get({
        param: { flow: 'store_transfer' },
        query: { from: new Date(base - HOUR).toISOString(), to: new Date().toISOString() },
      })
    ).json()
    expect(metrics.funnel.stages.map((s) => s.stage)).toEqual(['created', 'sent'])
    expect(metrics.funnel.started).toBe(3)
    const found = await (await api.search.$get({ query: { q: 'TO-1' } })).json()
    expect(found.results[0]).toMatchObject({ kind: 'transfer_order', id: 'TO-1' })
  })
})
