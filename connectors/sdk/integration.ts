import { type Context, context, createContextKey, type Span, SpanKind } from '@opentelemetry/api'
import { suppressTracing } from '@opentelemetry/core'
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import {
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
} from '@opentelemetry/semantic-conventions'
import type { EntityRef } from '../../core/vocabulary.ts'
import { INTEGRATION_ATTRIBUTES, KEY_ATTRIBUTES, RETRIED_ATTRIBUTE } from '../../core/vocabulary.ts'

/** The sync step a context belongs to: set by `Connector.run` around the step. */
export interface StepScope {
  readonly connector: string
  readonly entity: EntityRef
  /** Set by the processor when it saw the step's span start: the connector can tell it is installed. */
  seen: boolean
}

/** One attempt of a call to a retail system: set by `SystemClient.call` around its `fetch`. */
export interface CallScope {
  readonly system: string
  /** 0 for the first attempt (`http.request.resend_count`). */
  readonly attempt: number
  /** Whether the client will try again after an answer with this status (0: no answer at all). */
  readonly willRetry: (status: number) => boolean
  /** CLIENT spans started for this attempt, by whichever instrumentation. */
  clientSpans: number
}

const STEP = createContextKey('signalbox.connector.step')
const CALL = createContextKey('signalbox.connector.call')

export const withStep = (ctx: Context, scope: StepScope): Context => ctx.setValue(STEP, scope)
export const withCall = (ctx: Context, scope: CallScope): Context => ctx.setValue(CALL, scope)
export const stepOf = (ctx: Context) => ctx.getValue(STEP) as StepScope | undefined
const callOf = (ctx: Context) => ctx.getValue(CALL) as CallScope | undefined

/**
 * Signalbox's own plumbing (exceptions, registration, business events) is not a call the integration
 * makes: no CLIENT span for it from instrumentation-undici, no `traceparent` on it.
 */
export function untraced<T>(send: () => Promise<T>): Promise<T> {
  return context.with(suppressTracing(context.active()), send)
}

/**
 * Adds Signalbox's `integration.*` and `retail.*` attributes to spans others make inside a connector's
 * step: the CLIENT span `@opentelemetry/instrumentation-undici` makes for each `fetch` gets the system
 * called, the attempt and, when the attempt failed and will be retried, `signalbox.call.retried` (so the
 * system's success SLI counts the call's last attempt only); a span the connector's author makes gets
 * the connector and the entity's key. Add it to the app's `NodeSDK` (`spanProcessors`, before the
 * exporting processor); the SDK's own providers include it.
 */
export class IntegrationSpanProcessor implements SpanProcessor {
  private readonly calls = new WeakMap<Span, CallScope>()

  onStart(span: Span, parentContext: Context): void {
    const step = stepOf(parentContext)
    if (!step) return
    step.seen = true
    span.setAttribute(INTEGRATION_ATTRIBUTES.connector, step.connector)
    const call = callOf(parentContext)
    if (call && kindOf(span) === SpanKind.CLIENT) {
      call.clientSpans++
      this.calls.set(span, call)
      span.setAttribute(INTEGRATION_ATTRIBUTES.system, call.system)
      span.setAttribute(ATTR_HTTP_REQUEST_RESEND_COUNT, call.attempt)
      return
    }
    // Not on calls: each attempt would add a row to the entity's lifecycle; the step's span stands for them.
    if (!call) span.setAttribute(KEY_ATTRIBUTES[step.entity.type], step.entity.id)
  }

  /** Still writable here (the span has not ended): the answer's status is known by now. */
  onEnding(span: Span): void {
    const call = this.calls.get(span)
    if (!call) return
    const status = Number((span as unknown as ReadableSpan).attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] ?? 0)
    if (call.willRetry(status)) span.setAttribute(RETRIED_ATTRIBUTE, true)
  }

  onEnd(): void {}
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** The SDK's spans are readable; the api's Span interface does not say so. */
function kindOf(span: Span): SpanKind | undefined {
  return (span as unknown as Partial<ReadableSpan>).kind
}
