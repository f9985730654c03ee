import { createTable, createView, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * A `connector_success` SLI's events per minute: a connector's sync runs, or the calls made to a
 * system (last attempts only), leaving out failures on the data sent. Same rules as the raw read in
 * store/queries/connector-success.ts (`connectorEvents`), which still reads the minutes only partly
 * covered; test/alerts/sli.test.ts checks that the two agree. The attribute names and data-error
 * statuses are those of core/vocabulary.ts when this shipped, written out so the migration stays as
 * it shipped.
 */
const sliMinutesSelect = (from: string) =>
  `SELECT toStartOfMinute(timestamp) AS minute, if(kind = 'consumer', 'connector', 'system') AS scope, ` +
  `if(kind = 'consumer', connector, system) AS key, countIf(status_code != 'error') AS good, count() AS total ` +
  `FROM ${from} WHERE (kind = 'consumer' AND startsWith(name, 'sync ') ` +
  `AND NOT (status_code = 'error' AND attributes['signalbox.error.kind'] = 'data')) ` +
  `OR (kind = 'client' AND attributes['signalbox.call.retried'] != 'true' ` +
  `AND NOT (status_code = 'error' AND attributes['http.response.status_code'] IN ('400', '404', '409', '410', '422'))) ` +
  'GROUP BY minute, scope, key'

export const sliMinutes: Migration = {
  id: 15,
  name: 'sli_minutes',
  why: 'Connector and system success per minute, so an SLO evaluation reads minutes instead of every span of its period.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'sli_minutes',
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
        ttl: `minute + INTERVAL ${days(retention.spans)} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'rand()',
      },
      t,
    ),
    // The spans stored before this migration, once: only while the table is empty, so a re-run after
    // an interruption does not count them twice. Migrations finish before the collector takes data.
    // Logical names: on a cluster, the Distributed tables read and write every shard.
    `INSERT INTO ${t.database}.sli_minutes ${sliMinutesSelect(`${t.database}.spans`)} ` +
      `HAVING (SELECT count() FROM ${t.database}.sli_minutes) = 0`,
    ...createView(
      {
        name: 'sli_minutes_mv',
        from: 'spans',
        to: 'sli_minutes',
        select: sliMinutesSelect,
      },
      t,
    ),
  ],
}
