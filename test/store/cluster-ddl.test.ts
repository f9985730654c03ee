import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../../store/client.ts'
import { migrationsTableDdl } from '../../store/migrate.ts'
import { MIGRATIONS } from '../../store/migrations/index.ts'
import { retentionStatements } from '../../store/retention.ts'
import { sql } from '../../store/sql.ts'

/**
 * Every statement Signalbox would run against a cluster (`CLICKHOUSE_CLUSTER`), in the order `migrate`
 * runs them, parsed by the engine itself: a cluster cannot be run here (replicated tables need a
 * Keeper), but the engine's own parser says whether each statement is ClickHouse, and what it means.
 */
const cluster = { database: 'signalbox', cluster: 'retail' }
const retention = { spans: 30, logs: 14, events: 400 }
const statements = [
  ...migrationsTableDdl({ target: cluster }),
  ...MIGRATIONS.flatMap((m) => m.statements(cluster, retention)),
  ...retentionStatements(retention, cluster),
]

const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-cluster-ddl-'))
let store: Store
beforeAll(async () => {
  store = await openStore({ dataDir, clickhouse: { database: 'signalbox' }, quiet: true })
})
afterAll(async () => {
  await store.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** The statement as the engine's parser reads it, one line; or its parse error. */
async function parsed(statement: string): Promise<string> {
  const [row] = await store.query<{ f: string }>(sql`SELECT formatQuerySingleLine(${statement}) AS f`)
  return row?.f ?? ''
}

describe('DDL for a cluster, read by the engine', () => {
  it('parses, every statement', async () => {
    const refused: string[] = []
    for (const s of statements)
      await parsed(s).catch((e: Error) => refused.push(`${e.message}\n  in: ${s.slice(0, 200)}`))
    expect(refused).toEqual([])
    expect(statements.length).toBeGreaterThan(50)
  })

  it('runs every schema change on the whole cluster, and writes and reads through the distributed tables', async () => {
    for (const s of statements) {
      const ast = await parsed(s)
      if (/^(CREATE|ALTER|DROP|EXCHANGE|RENAME)\b/.test(ast)) expect(ast, s).toContain(' ON CLUSTER retail')
      else expect(ast, s).toMatch(/^INSERT INTO signalbox\.\w+/)
      // Replication is the engine of every local table; the logical name is a Distributed table over them.
      const engine = / ENGINE = (\w+)/.exec(ast)?.[1]
      if (engine && /^CREATE TABLE/.test(ast))
        expect(engine, s).toMatch(/^(Replicated\w*MergeTree|Distributed)$/)
      if (engine === 'Distributed')
        expect(ast).toMatch(/ENGINE = Distributed\(retail, signalbox, \w+_local, \w+/)
      // Materialized views read and write local tables: each shard indexes the rows it holds.
      if (/^CREATE MATERIALIZED VIEW/.test(ast)) {
        expect(ast).toMatch(/ TO signalbox\.\w+_local /)
        expect(ast).toMatch(/ FROM signalbox\.\w+_local\b/)
      }
    }
  })

  it('keeps a trace on one shard and an entity on one shard: the primary-key reads never fan out', async () => {
    const distributed = await Promise.all(statements.filter((s) => s.includes('Distributed(')).map(parsed))
    const key = (name: string) =>
      distributed
        .find((d) => d.startsWith(`CREATE TABLE IF NOT EXISTS signalbox.${name} `))
        ?.match(/Distributed\(retail, signalbox, \w+, (.+)\)/)?.[1]
    expect(key('spans')).toBe('cityHash64(trace_id)')
    expect(key('trace_index')).toBe('cityHash64(trace_id)')
    expect(key('entity_index')).toBe('cityHash64(entity_id)')
  })
})
