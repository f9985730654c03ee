import { createTable, createView, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * What telemetry shows of each integration, by hour: every service (with the connector its spans
 * name and the `service.version` on its resource), every event source, and every deployment a
 * pipeline announced (`retail.integration.deployed`, data `integration` and `version`). From it come
 * the integrations missing from the catalog, the volume seen against the expected, and every change
 * of version, without reading spans. Names are those of core/vocabulary.ts when this shipped.
 */
const fromSpans = (from: string) =>
  "SELECT toStartOfHour(timestamp) AS hour, 'service' AS kind, service_name AS name, connector, " +
  "resource_attributes['service.version'] AS version, min(toDateTime64(timestamp, 3)) AS first_seen, " +
  `max(toDateTime64(timestamp, 3)) AS last_seen, count() AS n FROM ${from} ` +
  'GROUP BY hour, name, connector, version'

const fromEvents = (from: string) =>
  "SELECT toStartOfHour(time) AS hour, if(type = 'retail.integration.deployed', 'deploy', 'source') AS kind, " +
  "if(type = 'retail.integration.deployed', JSONExtractString(data, 'integration'), source) AS name, " +
  "if(type = 'retail.integration.deployed', source, connector) AS connector, " +
  "if(type = 'retail.integration.deployed', JSONExtractString(data, 'version'), '') AS version, " +
  `min(toDateTime64(time, 3)) AS first_seen, max(toDateTime64(time, 3)) AS last_seen, count() AS n FROM ${from} ` +
  'GROUP BY hour, kind, name, connector, version'

export const integrationSightings: Migration = {
  id: 22,
  name: 'integration_sightings',
  why: 'Every service, event source and deployed version seen, by hour: unowned integrations, volume and changes.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'integration_sightings',
        columns: [
          'hour DateTime CODEC(Delta(4), ZSTD(1))',
          "kind LowCardinality(String) COMMENT 'service, source or deploy'",
          'name LowCardinality(String)',
          'connector LowCardinality(String)',
          'version LowCardinality(String)',
          'first_seen SimpleAggregateFunction(min, DateTime64(3))',
          'last_seen SimpleAggregateFunction(max, DateTime64(3))',
          'n SimpleAggregateFunction(sum, UInt64)',
        ],
        engine: 'AggregatingMergeTree',
        partitionBy: 'toStartOfMonth(hour)',
        orderBy: '(kind, name, version, connector, hour)',
        // Versions are history: kept as long as the business events.
        ttl: `hour + INTERVAL ${days(retention.events)} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'rand()',
      },
      t,
    ),
    // What was stored before, once: only while the table is empty, so a re-run counts nothing twice.
    // Logical names: on a cluster, the Distributed tables read and write every shard.
    `INSERT INTO ${t.database}.integration_sightings SELECT * FROM (${fromSpans(`${t.database}.spans`)} ` +
      `UNION ALL ${fromEvents(`${t.database}.business_events`)}) ` +
      `WHERE (SELECT count() FROM ${t.database}.integration_sightings) = 0`,
    ...createView(
      {
        name: 'integration_sightings_spans_mv',
        from: 'spans',
        to: 'integration_sightings',
        select: fromSpans,
      },
      t,
    ),
    ...createView(
      {
        name: 'integration_sightings_events_mv',
        from: 'business_events',
        to: 'integration_sightings',
        select: fromEvents,
      },
      t,
    ),
  ],
}
