export {
  type CallbackOutcome,
  type CallbackRequest,
  callbackApp,
  callbackRequest,
  probeRequest,
} from './callback.ts'
export {
  Connector,
  type ConnectorOptions,
  RegistrationRefusedError,
  type RunOptions,
  type RunOutcome,
  type StepContext,
  type StepDefinition,
} from './connector.ts'
export type { BusinessEventSpec } from './events.ts'
export { followFeed } from './feed.ts'
export {
  type ClientSpans,
  DEFAULT_RETRY,
  type RetryPolicy,
  type SystemCall,
  SystemCallError,
} from './http.ts'
export { webhookIntake } from './intake.ts'
export { IntegrationSpanProcessor } from './integration.ts'
export { type CallbackHeaders, CallbackVerifier, signCallback } from './signature.ts'
export {
  type ConnectorTelemetry,
  connectorTelemetry,
  globalTelemetry,
  hasGlobalTracerProvider,
  serviceTelemetry,
} from './telemetry.ts'
