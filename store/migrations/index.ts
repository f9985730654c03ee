import { spans } from './0001_spans.ts'
import { logs } from './0002_logs.ts'
import { businessEvents } from './0003_business_events.ts'
import { entityIndex } from './0004_entity_index.ts'
import { controlPlane } from './0005_control_plane.ts'
import { entityProgress } from './0006_entity_progress.ts'
import { flowAnalytics } from './0007_flow_analytics.ts'
import { alerting } from './0008_alerting.ts'
import { replays } from './0009_replays.ts'
import { tokens } from './0010_tokens.ts'
import { entityLinks } from './0011_entity_links.ts'
import { tokenScopes } from './0012_token_scopes.ts'
import { flowState } from './0013_flow_state.ts'
import { tokenLastUsed } from './0014_token_last_used.ts'
import { sliMinutes } from './0015_sli_minutes.ts'
import { spansByTrace } from './0016_spans_by_trace.ts'
import { spanKeys } from './0017_span_keys.ts'
import { connectorProbes } from './0018_connector_probes.ts'
import { unmappedWebhooks } from './0019_unmapped_webhooks.ts'
import { eventContracts } from './0020_event_contracts.ts'
import { failedTraces } from './0021_failed_traces.ts'
import { integrationSightings } from './0022_integration_sightings.ts'
import { flowTallies } from './0023_flow_tallies.ts'
import { spanKeysSmallBlocks } from './0024_span_keys_small_blocks.ts'
import { fewerMerges } from './0025_fewer_merges.ts'
import { spanResources } from './0026_span_resources.ts'
import { spanKeysInTraceIndex } from './0027_span_keys_in_trace_index.ts'
import { dropSpanKeys } from './0028_drop_span_keys.ts'
import { connectorRemoval } from './0029_connector_removal.ts'
import type { Migration } from './types.ts'

export type { Migration }

/** In order. Append new migrations; never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [
  spans,
  logs,
  businessEvents,
  entityIndex,
  controlPlane,
  entityProgress,
  flowAnalytics,
  alerting,
  replays,
  tokens,
  entityLinks,
  tokenScopes,
  flowState,
  tokenLastUsed,
  sliMinutes,
  spansByTrace,
  spanKeys,
  connectorProbes,
  unmappedWebhooks,
  eventContracts,
  failedTraces,
  integrationSightings,
  flowTallies,
  spanKeysSmallBlocks,
  fewerMerges,
  spanResources,
  spanKeysInTraceIndex,
  dropSpanKeys,
  connectorRemoval,
]
