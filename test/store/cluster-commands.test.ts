import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flowShape, loadFlows } from '../../core/flows.ts'
import { openStore } from '../../store/client.ts'
import { migrate } from '../../store/migrate.ts'
import { refreshFlowState } from '../../store/queries/flow-state.ts'

/**
 * What server mode sends a cluster with its statements (`CLICKHOUSE_CLUSTER`). A cluster cannot run
 * here (replicated tables need a Keeper; test/store/cluster-ddl.test.ts has the engine parse every
 * statement instead), so a recorder stands in for the server's HTTP interface: it answers every
 * request as an empty success and keeps what was sent. What it checks is what a cluster would act on.
 */
interface Sent {
  readonly query: string
  readonly settings: URLSearchParams
}

let server: Server
let url = ''
const sent: Sent[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const params = new URL(req.url ?? '/', 'http://recorder').searchParams
      sent.push({ query: params.get('query') ?? Buffer.concat(chunks).toString('utf8'), settings: params })
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-ClickHouse-Format': 'JSONEachRow' })
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const retention = { spans: 30, logs: 14, events: 400 }

/** A store in server mode on the recorder, on a cluster when one is named. */
const openRecorded = (cluster?: string) =>
  openStore({
    dataDir: '',
    clickhouse: { url, user: 'default', password: '', database: 'signalbox', cluster },
    quiet: true,
  })

describe('statements sent to a server', () => {
  it('on a cluster, wait until an INSERT has reached its shards: a rebuild swaps its copy in right after', async () => {
    sent.length = 0
    const store = await openRecorded('retail')
    await migrate(store, retention)
    await store.close()
    const inserts = sent.filter((s) => /^\s*INSERT\b/i.test(s.query))
    // Every migration's record, and the copies of the tables that migrations 16, 24 and 27 rebuild.
    expect(inserts.length).toBeGreaterThan(27)
    expect(inserts.filter((s) => /SELECT \* FROM signalbox\.\w+$/.test(s.query.trim()))).toHaveLength(3)
    for (const s of inserts) expect(s.settings.get('distributed_foreground_insert'), s.query).toBe('1')
  })

  it('on a cluster, a flow state refresh waits for its shards too: its next read needs the rows', async () => {
    sent.length = 0
    const store = await openRecorded('retail')
    const flow = flowShape(loadFlows(`${import.meta.dirname}/../../config`).get('order_to_cash') as never)
    // The recorder has no rows: a first refresh, which clears the tallies, stages and tallies the flow.
    await refreshFlowState(store, flow)
    await store.close()
    const inserts = sent.filter((s) => /^\s*INSERT\b/i.test(s.query))
    expect(inserts.map((s) => s.query.match(/INSERT INTO (?:signalbox\.)?(\w+)/)?.[1])).toEqual([
      'flow_tallies',
      'flow_waiting',
      'flow_entities_staged',
      'flow_state_marks',
      'flow_tallies',
      'flow_waiting',
      'flow_entities',
      'flow_state_marks',
    ])
    for (const s of inserts) expect(s.settings.get('distributed_foreground_insert'), s.query).toBe('1')
    // The inserts that read a flow go as long statements (with the server's progress); its marks do not.
    expect(inserts.map((s) => s.settings.get('send_progress_in_http_headers') ?? null)).toEqual([
      '1',
      '1',
      '1',
      null,
      '1',
      '1',
      '1',
      null,
    ])
  })

  it('on one server, send no cluster setting: there is no Distributed table to wait for', async () => {
    sent.length = 0
    const store = await openRecorded()
    await store.command('INSERT INTO signalbox.replays (id) VALUES (1)')
    await store.close()
    const insert = sent.find((s) => s.query.startsWith('INSERT'))
    expect(insert?.query).toContain('signalbox.replays')
    expect(insert?.settings.has('distributed_foreground_insert')).toBe(false)
  })
})
