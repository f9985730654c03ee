import { addColumn } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * A connector taken out of service is removed by an admin (`DELETE /api/connectors/:id`): a version of
 * its row marked `removed`, which reads of the registry skip. The row stays (its history, and the
 * catalog's last sighting); a connector that registers again is back.
 */
export const connectorRemoval: Migration = {
  id: 29,
  name: 'connector_removal',
  why: 'Lets an admin remove a connector from the registry: its callback is no longer probed or called.',
  statements: (t) => addColumn('connectors', 'removed UInt8 DEFAULT 0', t),
}
