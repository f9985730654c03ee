import { describe, expect, it } from 'vitest'
import { createTable, createView } from '../../store/migrations/frozen-ddl.ts'
import { MIGRATIONS } from '../../store/migrations/index.ts'
import { retentionStatements } from '../../store/retention.ts'

const retention = { spans: 30, logs: 14, events: 400 }
const single = { database: 'signalbox' }
const cluster = { database: 'signalbox', cluster: 'retail' }
/** Tables a migration dropped for good: the key table, unfed since migration 27. */
const RETIRED = ['signalbox.span_keys']

describe('DDL for one node', () => {
  const statements = MIGRATIONS.flatMap((m) => m.statements(single, retention))

  it('creates, alters and replaces tables and views idempotently, without cluster clauses', () => {
    // A table rebuilt for a new sort key goes through a copy named after its migration (`_m16`).
    const copy = /^signalbox\.\w+_m\d+$/
    statements.forEach((s, i) => {
      expect(s).toMatch(
        /^(CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS|CREATE TABLE|ALTER TABLE|DROP (VIEW|TABLE) IF EXISTS|INSERT INTO|EXCHANGE TABLES) signalbox\.\w+( |$)/,
      )
      const words = s.split(/\s/)
      const target = words[s.startsWith('CREATE TABLE IF') ? 5 : s.startsWith('DROP') ? 4 : 2] ?? ''
      if (s.startsWith('CREATE TABLE ') && !s.startsWith('CREATE TABLE IF')) {
        // Created only right after its leftover was dropped.
        expect(target).toMatch(copy)
        expect(statements[i - 1]).toBe(`DROP TABLE IF EXISTS ${target} SYNC`)
      }
      if (s.startsWith('INSERT INTO') && !copy.test(target))
        // A backfill runs only into a table that holds none of what it adds (an empty one, or one with
        // no row of the column it fills), so a re-run cannot count rows twice.
        expect(s).toMatch(
          /(?:WHERE|HAVING|AND) \(SELECT count\(\) FROM signalbox\.\w+(?: WHERE notEmpty\(\w+\))?\) = 0$/,
        )
      // Setting a storage setting again is a no-op, so MODIFY SETTING is idempotent as it stands.
      if (s.startsWith('ALTER TABLE'))
        expect(s).toMatch(
          copy.test(target) ? / DROP INDEX IF EXISTS / : / (ADD COLUMN IF NOT EXISTS|MODIFY SETTING) /,
        )
      // A table is dropped as a rebuild's copy, or for good once no release reads it (migration 28).
      if (s.startsWith('DROP TABLE')) expect(copy.test(target) || RETIRED.includes(target), target).toBe(true)
    })
    expect(statements.join('\n')).not.toMatch(/ON CLUSTER|Replicated|Distributed/)
  })

  it('puts configured retention into each table TTL', () => {
    const spans = statements.find((s) =>
      s.startsWith('CREATE TABLE IF NOT EXISTS signalbox.spans '),
    ) as string
    expect(spans).toContain('TTL toDateTime(timestamp) + INTERVAL 30 DAY')
    expect(spans).toContain('PARTITION BY toDate(timestamp)')
    expect(spans).toContain('ttl_only_drop_parts = 1')
    const logs = statements.find((s) => s.includes('signalbox.logs ')) as string
    expect(logs).toContain('INTERVAL 14 DAY')
  })
})

describe('DDL for a cluster', () => {
  const statements = MIGRATIONS.flatMap((m) => m.statements(cluster, retention))

  it('makes each table a replicated local table plus a distributed table under the logical name', () => {
    const spansLocal = statements.find((s) =>
      s.includes('signalbox.spans_local ON CLUSTER retail ('),
    ) as string
    expect(spansLocal).toContain(
      "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/signalbox/spans_local', '{replica}')",
    )
    expect(statements).toContain(
      'CREATE TABLE IF NOT EXISTS signalbox.spans ON CLUSTER retail AS signalbox.spans_local\n' +
        'ENGINE = Distributed(retail, signalbox, spans_local, cityHash64(trace_id))',
    )
    const events = statements.find((s) =>
      s.includes('signalbox.business_events_local ON CLUSTER retail ('),
    ) as string
    expect(events).toContain(
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/signalbox/business_events_local', '{replica}')",
    )
    expect(statements.join('\n')).toContain(
      'Distributed(retail, signalbox, entity_index_local, cityHash64(entity_id))',
    )
  })

  it('points materialized views from local table to local table, so each shard indexes its own rows', () => {
    const view = statements.find((s) => s.includes('entity_index_spans_mv')) as string
    expect(view).toMatch(
      /^CREATE MATERIALIZED VIEW IF NOT EXISTS signalbox\.entity_index_spans_mv ON CLUSTER retail TO signalbox\.entity_index_local\n/,
    )
    expect(view).toContain('FROM signalbox.spans_local ARRAY JOIN entities')
  })

  it('rebuilds a table on every shard: copied through the distributed tables, swapped locally', () => {
    const rebuild = statements.filter((s) => s.includes('spans_m16'))
    expect(rebuild.find((s) => s.startsWith('CREATE TABLE signalbox.spans_m16_local'))).toContain(
      "ReplicatedMergeTree('/clickhouse/tables/{shard}/signalbox/spans_m16_local', '{replica}')",
    )
    expect(rebuild).toContain('INSERT INTO signalbox.spans_m16 SELECT * FROM signalbox.spans')
    expect(rebuild).toContain(
      'EXCHANGE TABLES signalbox.spans_local AND signalbox.spans_m16_local ON CLUSTER retail',
    )
    expect(rebuild.at(-1)).toBe('DROP TABLE IF EXISTS signalbox.spans_m16_local ON CLUSTER retail SYNC')
  })

  it('drops a retired table from the distributed name first, then the local tables under it', () => {
    expect(
      statements.filter((s) => /\bspan_keys(_local)? ON CLUSTER/.test(s) && s.startsWith('DROP TABLE')),
    ).toEqual([
      'DROP TABLE IF EXISTS signalbox.span_keys ON CLUSTER retail SYNC',
      'DROP TABLE IF EXISTS signalbox.span_keys_local ON CLUSTER retail SYNC',
    ])
  })

  it('adds a later column to the local tables and to the distributed ones', () => {
    const adds = statements.filter((s) => s.includes('ADD COLUMN IF NOT EXISTS replay_id'))
    expect(adds.map((s) => s.split(' ADD')[0])).toEqual([
      'ALTER TABLE signalbox.entity_index_local ON CLUSTER retail',
      'ALTER TABLE signalbox.entity_index ON CLUSTER retail',
    ])
  })

  it('applies retention to the local tables on every node', () => {
    const alters = retentionStatements(retention, cluster)
    expect(alters).toContain(
      'ALTER TABLE signalbox.spans_local ON CLUSTER retail MODIFY TTL toDateTime(timestamp) + INTERVAL 30 DAY',
    )
  })

  it('renders engine arguments after the replication path', () => {
    const [ddl] = createTable(
      {
        name: 't',
        columns: ['v UInt64'],
        engine: 'ReplacingMergeTree',
        engineArgs: 'v',
        orderBy: 'v',
        shardBy: 'rand()',
      },
      cluster,
    )
    expect(ddl).toContain(
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/signalbox/t_local', '{replica}', v)",
    )
    expect(
      createView({ name: 'mv', from: 'a', to: 'b', select: (f) => `SELECT * FROM ${f}` }, single),
    ).toEqual([
      'CREATE MATERIALIZED VIEW IF NOT EXISTS signalbox.mv TO signalbox.b\nAS SELECT * FROM signalbox.a',
    ])
  })
})

describe('retention settings', () => {
  it('refuses a non-positive or fractional number of days', () => {
    expect(() => retentionStatements({ ...retention, spans: 0 }, single)).toThrow(/positive integer/)
    expect(() => retentionStatements({ ...retention, logs: 1.5 }, single)).toThrow(/positive integer/)
  })
})
