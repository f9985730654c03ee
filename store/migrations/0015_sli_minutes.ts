import { DATA_ERROR_STATUSES, ERROR_KIND_ATTRIBUTE, RETRIED_ATTRIBUTE } from '../../core/vocabulary.ts'
import { createTable, createView } from '../ddl.ts'
import { TTL_SETTINGS, ttlExpressions } from '../retention.ts'
import { TABLES, VIEWS } from '../tables.ts'
import type { Migration } from './types.ts'

// DDL takes no bound parameters: these are the code's own constants, quoted here.
const quote = (s: string) => `'${s.replace(/['\\]/g, '\\$&')}'`

/**
 * A `connector_success` SLI's events per minute: a connector's sync runs, or the calls made to a
 * system (last attempts only), leaving out failures on the data sent. Same rules as the raw read in
 * store/queries/connector-success.ts (`connectorEvents`), which still reads the minutes only partly
 * covered; test/alerts/sli.test.ts checks that the two agree.
 */
const sliMinutesSelect = (from: string) =>
  `SELECT toStartOfMinute(timestamp) AS minute, if(kind = 'consumer', 'connector', 'system') AS scope, ` +
  `if(kind = 'consumer', connector, system) AS key, countIf(status_code != 'error') AS good, count() AS total ` +
  `FROM ${from} WHERE (kind = 'consumer' AND startsWith(name, 'sync ') ` +
  `AND NOT (status_code = 'error' AND attributes[${quote(ERROR_KIND_ATTRIBUTE)}] = 'data')) ` +
  `OR (kind = 'client' AND attributes[${quote(RETRIED_ATTRIBUTE)}] != 'true' ` +
  `AND NOT (status_code = 'error' AND attributes['http.response.status_code'] IN (${DATA_ERROR_STATUSES.map(quote).join(', ')}))) ` +
  'GROUP BY minute, scope, key'

export const sliMinutes: Migration = {
  id: 15,
  name: 'sli_minutes',
  why: 'Connector and system success per minute, so an SLO evaluation reads minutes instead of every span of its period.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: TABLES.sliMinutes,
        columns: [
          'minute DateTime CODEC(Delta(4), ZSTD(1))',
          "scope LowCardinality(String) COMMENT 'connector or system'",
          'key LowCardinality(String)',
          'good SimpleAggregateFunction(sum, UInt64)',
          'total SimpleAggregateFunction(sum, UInt64)',
        ],
        engine: 'AggregatingMergeTree',
        partitionBy: 'toDate(minute)',
        orderBy: '(scope, key, minute)',
        ttl: ttlExpressions(retention)[TABLES.sliMinutes],
        settings: TTL_SETTINGS,
        shardBy: 'rand()',
      },
      t,
    ),
    // The spans stored before this migration, once: only while the table is empty, so a re-run after
    // an interruption does not count them twice. Migrations finish before the collector takes data.
    // Logical names: on a cluster, the Distributed tables read and write every shard.
    `INSERT INTO ${t.database}.${TABLES.sliMinutes} ${sliMinutesSelect(`${t.database}.${TABLES.spans}`)} ` +
      `HAVING (SELECT count() FROM ${t.database}.${TABLES.sliMinutes}) = 0`,
    ...createView(
      {
        name: VIEWS.sliMinutesFromSpans,
        from: TABLES.spans,
        to: TABLES.sliMinutes,
        select: sliMinutesSelect,
      },
      t,
    ),
  ],
}
