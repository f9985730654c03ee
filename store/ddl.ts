/**
 * DDL the running code issues itself (not the migrations, which render theirs with the frozen
 * store/migrations/frozen-ddl.ts). On a cluster (`CLICKHOUSE_CLUSTER`) each table is a `<name>_local`
 * table on every node behind a `Distributed` table under the logical name; settings such as TTL
 * belong to the local tables.
 */

import type { Target } from './migrations/frozen-ddl.ts'

export type { Target }

/** Retention is a setting, so it is re-applied at every start; on a cluster it applies to the local tables. */
export function modifyTtl(name: string, ttl: string, t: Target): string {
  const local = t.cluster ? `${name}_local` : name
  return `ALTER TABLE ${t.database}.${local}${t.cluster ? ` ON CLUSTER ${t.cluster}` : ''} MODIFY TTL ${ttl}`
}
