/**
 * FROZEN: the DDL rendering of the shipped migrations. Never change what a function here returns.
 *
 * A shipped migration is never run again where it was applied, so it must emit the same statements
 * forever, or new installs get a schema that existing ones do not have (test/store/migrations.test.ts
 * pins every shipped migration's statements). This file imports nothing, so nothing elsewhere can
 * change it. A migration that needs something these functions cannot say adds a new function here
 * (or writes its statements as text); an existing one is never edited.
 *
 * On a cluster (`CLICKHOUSE_CLUSTER`) each table becomes a `Replicated*MergeTree` `<name>_local` on
 * every node plus a `Distributed` table under the logical name, so queries and inserts use the same
 * names both ways; views read and write the local tables, so each shard indexes its own rows.
 */

export interface Target {
  readonly database: string
  readonly cluster?: string
}

export interface TableSpec {
  readonly name: string
  readonly columns: readonly string[]
  readonly engine: 'MergeTree' | 'ReplacingMergeTree' | 'AggregatingMergeTree' | 'SummingMergeTree'
  /** Arguments of the engine, e.g. the version column of a ReplacingMergeTree. */
  readonly engineArgs?: string
  readonly orderBy: string
  readonly partitionBy?: string
  /** A TTL expression without the `TTL` keyword. */
  readonly ttl?: string
  readonly settings?: Readonly<Record<string, string | number>>
  /** Distributed sharding key on a cluster. */
  readonly shardBy: string
}

export interface ViewSpec {
  readonly name: string
  readonly from: string
  readonly to: string
  /** The SELECT, given the source table's qualified name. */
  readonly select: (from: string) => string
}

/** A retention setting in days, checked before it is written into DDL (which takes no bound parameters). */
export function days(n: number): number {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`retention must be a positive integer, got ${n}`)
  return n
}

const onCluster = (t: Target) => (t.cluster ? ` ON CLUSTER ${t.cluster}` : '')
const localName = (name: string, t: Target) => (t.cluster ? `${name}_local` : name)
const qualified = (name: string, t: Target) => `${t.database}.${localName(name, t)}`

function engineClause(spec: TableSpec, t: Target): string {
  const args = spec.engineArgs ? [spec.engineArgs] : []
  if (!t.cluster) return `${spec.engine}(${args.join(', ')})`
  const zkPath = `'/clickhouse/tables/{shard}/${t.database}/${localName(spec.name, t)}'`
  return `Replicated${spec.engine}(${[zkPath, "'{replica}'", ...args].join(', ')})`
}

/** ENGINE, PARTITION BY, ORDER BY, TTL and SETTINGS of a table, one clause a line. */
function storageClauses(spec: TableSpec, t: Target): string[] {
  const settings = Object.entries(spec.settings ?? {}).map(([k, v]) => `${k} = ${v}`)
  return [
    `ENGINE = ${engineClause(spec, t)}`,
    spec.partitionBy ? `PARTITION BY ${spec.partitionBy}` : '',
    `ORDER BY ${spec.orderBy}`,
    spec.ttl ? `TTL ${spec.ttl}` : '',
    settings.length ? `SETTINGS ${settings.join(', ')}` : '',
  ].filter(Boolean)
}

const distributedTable = (spec: TableSpec, t: Target & { cluster: string }) =>
  `CREATE TABLE IF NOT EXISTS ${t.database}.${spec.name}${onCluster(t)} AS ${qualified(spec.name, t)}\n` +
  `ENGINE = Distributed(${t.cluster}, ${t.database}, ${localName(spec.name, t)}, ${spec.shardBy})`

export function createTable(spec: TableSpec, t: Target): string[] {
  const local = [
    `CREATE TABLE IF NOT EXISTS ${qualified(spec.name, t)}${onCluster(t)} (\n  ${spec.columns.join(',\n  ')}\n)`,
    ...storageClauses(spec, t),
  ].join('\n')
  return t.cluster ? [local, distributedTable(spec, { ...t, cluster: t.cluster })] : [local]
}

/**
 * A table given new storage (a sort key cannot be altered): the same columns under `spec`'s engine
 * clauses in a table named with `suffix`, filled from the table, swapped in by name, and the old one
 * dropped. Views follow the name, so they feed the new table. Re-runnable: a leftover copy is dropped
 * first, and after the swap a re-run copies the new table onto itself. `changes` are ALTERs (without
 * the table name) applied to the empty copy. Migrations run before the collector takes data.
 */
export function rebuildTable(
  spec: TableSpec,
  suffix: string,
  changes: readonly string[],
  t: Target,
): string[] {
  const copy = { ...spec, name: `${spec.name}${suffix}` }
  const drop = (name: string) => `DROP TABLE IF EXISTS ${name}${onCluster(t)} SYNC`
  const dropCopy = t.cluster
    ? [drop(`${t.database}.${copy.name}`), drop(qualified(copy.name, t))]
    : [drop(qualified(copy.name, t))]
  return [
    ...dropCopy,
    [
      `CREATE TABLE ${qualified(copy.name, t)}${onCluster(t)} AS ${qualified(spec.name, t)}`,
      ...storageClauses(copy, t),
    ].join('\n'),
    ...(t.cluster ? [distributedTable(copy, { ...t, cluster: t.cluster })] : []),
    ...changes.map((change) => `ALTER TABLE ${qualified(copy.name, t)}${onCluster(t)} ${change}`),
    // Logical names: on a cluster, the Distributed tables read and write every shard.
    `INSERT INTO ${t.database}.${copy.name} SELECT * FROM ${t.database}.${spec.name}`,
    `EXCHANGE TABLES ${qualified(spec.name, t)} AND ${qualified(copy.name, t)}${onCluster(t)}`,
    ...dropCopy,
  ]
}

export function createView(spec: ViewSpec, t: Target): string[] {
  return [
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${t.database}.${spec.name}${onCluster(t)} TO ${qualified(spec.to, t)}\n` +
      `AS ${spec.select(qualified(spec.from, t))}`,
  ]
}

/** A later migration's new column: on a cluster, on the local tables and the Distributed ones. */
export function addColumn(table: string, column: string, t: Target): string[] {
  const alter = (name: string) => `ALTER TABLE ${name}${onCluster(t)} ADD COLUMN IF NOT EXISTS ${column}`
  return t.cluster
    ? [alter(qualified(table, t)), alter(`${t.database}.${table}`)]
    : [alter(qualified(table, t))]
}

/** Storage settings changed on a table (the local tables on a cluster: the Distributed ones hold none). */
export function modifySettings(table: string, settings: Record<string, number>, t: Target): string[] {
  const changes = Object.entries(settings).map(([k, v]) => `${k} = ${v}`)
  return [`ALTER TABLE ${qualified(table, t)}${onCluster(t)} MODIFY SETTING ${changes.join(', ')}`]
}

/** A view whose SELECT changed: dropped and created again, before the collector accepts any data. */
export function replaceView(spec: ViewSpec, t: Target): string[] {
  return [`DROP VIEW IF EXISTS ${t.database}.${spec.name}${onCluster(t)}`, ...createView(spec, t)]
}

/** A table dropped for good: on a cluster, its Distributed table and the local tables under it. */
export function dropTable(name: string, t: Target): string[] {
  const drop = (table: string) => `DROP TABLE IF EXISTS ${table}${onCluster(t)} SYNC`
  return t.cluster ? [drop(`${t.database}.${name}`), drop(qualified(name, t))] : [drop(qualified(name, t))]
}

/** A materialized view dropped for good. */
export function dropView(name: string, t: Target): string[] {
  return [`DROP VIEW IF EXISTS ${t.database}.${name}${onCluster(t)}`]
}
