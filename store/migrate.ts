import type { Logger } from '../core/logger.ts'
import { LONG_STATEMENT, type Store } from './client.ts'
import { createTable } from './migrations/frozen-ddl.ts'
import { MIGRATIONS, type Migration } from './migrations/index.ts'
import { type RetentionDays, retentionStatements } from './retention.ts'
import { sql, table } from './sql.ts'
import { TABLES } from './tables.ts'

export function migrationsTableDdl(store: Pick<Store, 'target'>): string[] {
  return createTable(
    {
      name: TABLES.migrations,
      columns: ['id UInt32', 'name String', 'applied_at DateTime64(3)'],
      engine: 'ReplacingMergeTree',
      orderBy: 'id',
      shardBy: 'id',
    },
    store.target,
  )
}

/**
 * Applies the migrations not yet recorded, in order, and then the configured retention. Each
 * statement is idempotent, so a run interrupted half-way is finished by the next one. Statements run
 * as long ones (`CommandOptions.long`): a rebuild copies a whole table, as large as the data kept.
 */
export async function migrate(
  store: Store,
  retention: RetentionDays,
  log?: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  for (const ddl of migrationsTableDdl(store)) await store.command(ddl, LONG_STATEMENT)
  const done = new Set(
    (await store.query<{ id: number }>(sql`SELECT DISTINCT id FROM ${table(TABLES.migrations)}`)).map((r) =>
      Number(r.id),
    ),
  )
  const applied: number[] = []
  for (const m of migrations) {
    if (done.has(m.id)) continue
    for (const statement of m.statements(store.target, retention))
      await store.command(statement, LONG_STATEMENT)
    await store.command(
      sql`INSERT INTO ${table(TABLES.migrations)} (id, name, applied_at) VALUES (${m.id}, ${m.name}, now64(3))`,
    )
    log?.info({ migration: m.id, name: m.name }, 'migration applied')
    applied.push(m.id)
  }
  for (const statement of retentionStatements(retention, store.target))
    await store.command(statement, LONG_STATEMENT)
  return applied
}
