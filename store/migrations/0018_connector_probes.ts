import { addColumn, createTable } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * A connector's callback is probed (a signed request it must answer) so the registry can say whether
 * replays would reach it. One row per connector, callback URL and outcome, the latest probe of each
 * outcome kept: the last answered and the last unanswered probe, written without reading first and
 * apart from the registration rows so a probe never races a re-registration. A new callback URL
 * starts with no probe at all.
 */
export const connectorProbes: Migration = {
  id: 18,
  name: 'connector_probes',
  why: "Whether each connector's callback answered Signalbox's signed probe, and when; and what an audited action changed.",
  statements: (t) => [
    ...createTable(
      {
        name: 'connector_probes',
        columns: [
          'id String',
          'callback_url String',
          'answered Bool',
          'probed_at DateTime64(3)',
          'http_status UInt16',
          'error String',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'probed_at',
        orderBy: '(id, callback_url, answered)',
        shardBy: 'cityHash64(id)',
      },
      t,
    ),
    // What an audited action changed, where the route and path do not say (a callback taken over).
    ...addColumn('audit_log', "detail String DEFAULT ''", t),
  ],
}
