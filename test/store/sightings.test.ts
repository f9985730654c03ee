import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { integrationSightings } from '../../store/migrations/0022_integration_sightings.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { exportSpan, sendDeployed } from '../support/catalog.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

const rows = () =>
  sb.rows<{ kind: string; name: string; version: string; n: string }>(sql`
    SELECT kind, name, version, sum(n) AS n FROM ${table(TABLES.integrationSightings)}
    GROUP BY kind, name, version ORDER BY kind, name, version`)

describe('integration_sightings (migration 22)', () => {
  it('records services with their version and deployments as they arrive, and backfills an empty table once', async () => {
    const at = Date.now() - 10 * 60_000
    await exportSpan(sb.collectorUrl, { 'service.name': 'svc-a', 'service.version': '2.0.0' }, at, 'GET /a')
    await sendDeployed(sb.collectorUrl, 'svc-a', '2.1.0', at + 60_000)
    const live = await rows()
    expect(live).toContainEqual({ kind: 'service', name: 'svc-a', version: '2.0.0', n: '1' })
    expect(live).toContainEqual({ kind: 'deploy', name: 'svc-a', version: '2.1.0', n: '1' })
    // An install that had the data before the migration, when a span carried its resource's
    // attributes (migration 26 moved them to span_resources): the backfill finds the same, and a
    // re-run adds nothing.
    await sb.store.command(sql`TRUNCATE TABLE ${table(TABLES.spans)}`)
    await sb.store.command(sql`
      INSERT INTO ${table(TABLES.spans)} (timestamp, trace_id, span_id, name, service_name, resource_attributes)
      VALUES (fromUnixTimestamp64Milli(${at}), ${'ab'.repeat(16)}, ${'cd'.repeat(8)}, 'GET /a', 'svc-a',
        map('service.name', 'svc-a', 'service.version', '2.0.0'))`)
    await sb.store.command(sql`TRUNCATE TABLE ${table(TABLES.integrationSightings)}`)
    const backfill = integrationSightings
      .statements(sb.store.target, { spans: 30, logs: 30, events: 400 })
      .filter((s) => s.startsWith('INSERT'))
    for (let run = 0; run < 2; run++) for (const s of backfill) await sb.store.command(s)
    expect(await rows()).toEqual(live)
  })
})
