/**
 * Every table Signalbox owns, by one name. Queries take identifiers only from here (see `sql.ts`), so
 * no value from a request can ever become an identifier.
 */
export const TABLES = {
  migrations: 'signalbox_migrations',
  spans: 'spans',
  spanResources: 'span_resources',
  traceIndex: 'trace_index',
  logs: 'logs',
  events: 'business_events',
  eventKeys: 'event_keys',
  entityIndex: 'entity_index',
  exceptions: 'exceptions',
  connectors: 'connectors',
  connectorProbes: 'connector_probes',
  entityProgress: 'entity_progress',
  flowMinutes: 'flow_minutes',
  sliMinutes: 'sli_minutes',
  systemEdges: 'system_edges',
  flowEntities: 'flow_entities',
  flowStateMarks: 'flow_state_marks',
  flowTallies: 'flow_tallies',
  flowWaiting: 'flow_waiting',
  flowEntitiesStaged: 'flow_entities_staged',
  alertInstances: 'alert_instances',
  alertTransitions: 'alert_transitions',
  silences: 'silences',
  alertGroups: 'alert_groups',
  notifications: 'notifications',
  leases: 'leases',
  replays: 'replays',
  replayJobs: 'replay_jobs',
  apiTokens: 'api_tokens',
  tokenUses: 'api_token_uses',
  auditLog: 'audit_log',
  unmappedWebhooks: 'unmapped_webhooks',
  eventTypes: 'event_types',
  contractViolations: 'contract_violations',
  failedTraces: 'failed_traces',
  integrationSightings: 'integration_sightings',
} as const

export type TableName = (typeof TABLES)[keyof typeof TABLES]
