import { context, type Link, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { z } from 'zod'
import type { EntityRef } from '../../core/vocabulary.ts'
import {
  DATA_ERROR_STATUSES,
  ERROR_KIND_ATTRIBUTE,
  INTEGRATION_ATTRIBUTES,
  KEY_ATTRIBUTES,
  REPLAY_ATTRIBUTE,
  REPLAY_EXTENSION,
} from '../../core/vocabulary.ts'
import { type BusinessEventSpec, BusinessEvents } from './events.ts'
import {
  type ClientSpans,
  DEFAULT_RETRY,
  type RetryPolicy,
  type SystemCall,
  SystemCallError,
  SystemClient,
} from './http.ts'
import { InFlight } from './in-flight.ts'
import { type StepScope, untraced, withStep } from './integration.ts'
import { openFields, sealFields } from './sealing.ts'
import {
  type ConnectorTelemetry,
  connectorTelemetry,
  globalTelemetry,
  hasGlobalTracerProvider,
  warnProcessorMissing,
} from './telemetry.ts'

/** What a sync step gets besides its input: calls to systems and business events, all traced. */
export interface StepContext {
  /** Stable for the unit of work (connector, step, entity): retries and replays reuse it. */
  readonly idempotencyKey: string
  call<T = unknown>(system: string, call: SystemCall): Promise<T>
  /** Reports a completed stage; the event id derives from the idempotency key, so it is stored once. */
  emit(event: BusinessEventSpec): Promise<void>
}

export interface StepDefinition<I> {
  readonly flow: string
  /** The business stage this step completes, e.g. `erp_posted`. */
  readonly stage: string
  readonly entity: (input: I) => EntityRef
  /**
   * What makes one unit of work distinct when an entity has many (each stock change of a SKU):
   * part of the idempotency key and the event ids. The entity id when not given.
   */
  readonly unit?: (input: I) => string
  readonly run: (input: I, ctx: StepContext) => Promise<void>
  /** What of the input an exception may keep: it must still be enough to run the step again. */
  readonly redact?: (input: I) => I
  /**
   * Dot paths of personal data in the input (`customer.email`). In an exception they are sealed
   * with the connector's payload key (see sealing.ts) so only the connector can read them; without
   * one they are sent marked sensitive, and Signalbox encrypts them at rest.
   */
  readonly sensitive?: readonly string[]
  /**
   * The step (or steps, run side by side) that follow with the same input once this one succeeds,
   * so a replayed step also carries the work after it forward.
   */
  readonly next?: string | readonly string[]
  /**
   * The input's shape. Published to Signalbox at registration (as JSON Schema) so an operator's
   * edited payload is checked before a replay, and checked again by the callback.
   */
  readonly schema?: z.ZodType<I>
  /** Reads the entity's current input from its source: what a re-sync runs the step with. */
  readonly load?: (entity: EntityRef) => Promise<I | undefined>
}

export interface RunOptions {
  /** The trace of the run this one replays: the new root span links to it. */
  readonly replayOf?: { readonly traceId: string; readonly spanId: string; readonly replayId: string }
}

export interface RunOutcome {
  readonly status: 'succeeded' | 'failed'
  readonly traceId: string
  readonly error?: { readonly class: string; readonly message: string }
  readonly exceptionId?: string
}

export interface ConnectorOptions {
  readonly id: string
  /** The system this connector belongs to (the source of truth it syncs from). */
  readonly system: string
  readonly collectorUrl: string
  /** Signalbox api base URL, for exceptions and registration. */
  readonly apiUrl: string
  readonly retry?: RetryPolicy
  /**
   * Where the spans go. By default the app's global tracer provider (its `NodeSDK`) when it has
   * registered one, otherwise a provider of the connector's own exporting to `collectorUrl`.
   */
  readonly telemetry?: ConnectorTelemetry
  /** Who makes the CLIENT span of each call to a system (connectors/sdk/http.ts); `auto` by default. */
  readonly clientSpans?: ClientSpans
  /** 32 bytes, base64: seals the sensitive fields of exception payloads. Keep it out of logs. */
  readonly payloadKey?: string
  /** Signalbox's ingestion key, when it requires one: sent with telemetry, events, reports and registration. */
  readonly ingestKey?: string
}

/**
 * A connector: named sync steps that run traced, with retries, business events and, when a step
 * fails for good, an exception in Signalbox holding everything needed to run it again. The callback
 * endpoint (callback.ts) runs the very same steps for replays.
 */
export class Connector {
  readonly telemetry: ConnectorTelemetry
  private readonly steps = new Map<string, StepDefinition<never>>()
  private readonly clients = new Map<string, SystemClient>()
  private readonly events: BusinessEvents
  /** Runs by outcome, for load reports. */
  readonly runs = { succeeded: 0, failed: 0 }
  /** Runs not yet finished; a step's next steps join before it ends. */
  private readonly running = new InFlight()

  constructor(readonly options: ConnectorOptions) {
    this.telemetry =
      options.telemetry ??
      (hasGlobalTracerProvider()
        ? globalTelemetry()
        : connectorTelemetry({
            connector: options.id,
            collectorUrl: options.collectorUrl,
            headers: this.authHeaders,
          }))
    this.events = new BusinessEvents(
      options.collectorUrl,
      `urn:signalbox:connector:${options.id}`,
      options.id,
      this.authHeaders,
    )
  }

  private get authHeaders(): Record<string, string> {
    return this.options.ingestKey ? { authorization: `Bearer ${this.options.ingestKey}` } : {}
  }

  step<I>(name: string, definition: StepDefinition<I>): this {
    this.steps.set(name, definition as unknown as StepDefinition<never>)
    return this
  }

  hasStep(name: string): boolean {
    return this.steps.has(name)
  }

  /** The step's declared input schema, if any. */
  schemaOf(name: string): z.ZodType | undefined {
    return this.steps.get(name)?.schema as z.ZodType | undefined
  }

  /** The entity's current input for a re-sync, read from its source; undefined when the step cannot. */
  async load(name: string, entity: EntityRef): Promise<unknown> {
    const load = this.steps.get(name)?.load as ((e: EntityRef) => Promise<unknown>) | undefined
    return load ? load(entity) : undefined
  }

  canLoad(name: string): boolean {
    return Boolean(this.steps.get(name)?.load)
  }

  /** Business events sent so far. */
  get eventCounts(): { readonly sent: number; readonly failed: number } {
    return this.events.counts
  }

  get flows(): string[] {
    return [...new Set([...this.steps.values()].map((s) => s.flow))]
  }

  private client(system: string): SystemClient {
    let c = this.clients.get(system)
    if (!c) {
      c = new SystemClient(
        system,
        this.telemetry.tracer,
        this.options.retry ?? DEFAULT_RETRY,
        8,
        this.options.clientSpans,
      )
      this.clients.set(system, c)
    }
    return c
  }

  /** Runs a step (and, once it succeeds, the steps after it as runs of their own). */
  run<I>(stepName: string, input: I, options: RunOptions = {}): Promise<RunOutcome> {
    return this.running.track(this.runStep(stepName, input, options))
  }

  /** Resolves once no run is in flight, the runs that finished steps start included. */
  settled(): Promise<void> {
    return this.running.settled()
  }

  /**
   * Stops sending: a business event waiting to be sent again fails now (its step with it), and the
   * connector's own telemetry provider exports what it holds and shuts down.
   */
  async close(): Promise<void> {
    this.events.close()
    await this.telemetry.shutdown()
  }

  private async runStep<I>(stepName: string, input: I, options: RunOptions): Promise<RunOutcome> {
    const step = this.steps.get(stepName) as unknown as StepDefinition<I> | undefined
    if (!step) throw new Error(`connector ${this.options.id} has no step '${stepName}'`)
    const entity = step.entity(input)
    const idempotencyKey = `${this.options.id}:${stepName}:${entity.type}:${step.unit ? step.unit(input) : entity.id}`
    const links: Link[] = options.replayOf
      ? [
          {
            context: { traceId: options.replayOf.traceId, spanId: options.replayOf.spanId, traceFlags: 1 },
            attributes: { [REPLAY_ATTRIBUTE]: options.replayOf.replayId },
          },
        ]
      : []
    // Spans started inside the step (the author's, instrumentation's) carry the step's scope to the processor.
    const scope: StepScope = { connector: this.options.id, entity, seen: false }
    const stepContext = withStep(context.active(), scope)
    const span = this.telemetry.tracer.startSpan(
      `sync ${step.flow}.${stepName}`,
      {
        kind: SpanKind.CONSUMER,
        links,
        attributes: {
          // On the span as well as the resource: under an app's NodeSDK the resource is the app's.
          [INTEGRATION_ATTRIBUTES.connector]: this.options.id,
          [INTEGRATION_ATTRIBUTES.flow]: step.flow,
          [INTEGRATION_ATTRIBUTES.stage]: step.stage,
          [KEY_ATTRIBUTES[entity.type]]: entity.id,
          'signalbox.idempotency_key': idempotencyKey,
          ...(options.replayOf ? { [REPLAY_ATTRIBUTE]: options.replayOf.replayId } : {}),
        },
      },
      stepContext,
    )
    if (!scope.seen && span.isRecording()) warnProcessorMissing()
    const parent = trace.setSpan(stepContext, span)
    const ctx: StepContext = {
      idempotencyKey,
      call: (system, call) =>
        this.client(system).call(parent, {
          ...call,
          headers: { 'idempotency-key': idempotencyKey, ...call.headers },
        }),
      // A replay's events say so (`replayid`): the lifecycle shows the stage as completed by a replay.
      emit: (event) =>
        this.events.send(
          span,
          `${idempotencyKey}:${event.type}`,
          options.replayOf
            ? { ...event, extensions: { ...event.extensions, [REPLAY_EXTENSION]: options.replayOf.replayId } }
            : event,
        ),
    }
    const traceId = span.spanContext().traceId
    let succeeded = false
    try {
      // Active inside the step, so the spans an author makes there nest under it.
      await context.with(parent, () => step.run(input, ctx))
      span.setStatus({ code: SpanStatusCode.OK })
      succeeded = true
      this.runs.succeeded++
      return { status: 'succeeded', traceId }
    } catch (err) {
      const error = describe(err)
      span.recordException({ name: error.class, message: error.message })
      // Whose problem it is: a system that refused the data (a 422) is not an integration outage.
      span.setAttribute('error.type', error.class)
      span.setAttribute(ERROR_KIND_ATTRIBUTE, dataError(err) ? 'data' : 'system')
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
      this.runs.failed++
      const exceptionId = await this.reportException(step, stepName, entity, input, error, err, span)
      return { status: 'failed', traceId, error, exceptionId }
    } finally {
      span.end()
      // The next step is its own run (own trace, own exception if it fails); not awaited by this one.
      if (succeeded && step.next) {
        for (const next of typeof step.next === 'string' ? [step.next] : step.next) {
          if (this.steps.has(next)) void this.run(next, input)
        }
      }
    }
  }

  /** Best effort: a Signalbox outage must not crash the sync, and the failure stays on the span. */
  private async reportException<I>(
    step: StepDefinition<I>,
    stepName: string,
    entity: EntityRef,
    input: I,
    error: { class: string; message: string },
    cause: unknown,
    span: Span,
  ): Promise<string | undefined> {
    try {
      const res = await untraced(() =>
        fetch(`${this.options.apiUrl}/api/exceptions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.authHeaders },
          body: JSON.stringify({
            connector: this.options.id,
            flow: step.flow,
            step: stepName,
            stage: step.stage,
            entity,
            ...this.exceptionPayload(step, input),
            error,
            attempts: cause instanceof SystemCallError ? cause.attempts : 1,
            traceId: span.spanContext().traceId,
            spanId: span.spanContext().spanId,
          }),
        }),
      )
      if (!res.ok) return undefined
      return ((await res.json()) as { id?: string }).id
    } catch {
      return undefined
    }
  }

  /**
   * The input as an exception may keep it: redacted by the step; personal data sealed with the
   * connector's key, or marked sensitive for Signalbox to encrypt.
   */
  private exceptionPayload<I>(step: StepDefinition<I>, input: I): { payload: unknown; sensitive?: string[] } {
    const kept = step.redact ? step.redact(input) : input
    if (!step.sensitive?.length) return { payload: kept }
    if (this.options.payloadKey) return { payload: sealFields(kept, step.sensitive, this.options.payloadKey) }
    return { payload: kept, sensitive: [...step.sensitive] }
  }

  /** Opens sealed fields of a payload a callback brought back. */
  openPayload(payload: unknown): unknown {
    return openFields(payload, this.options.payloadKey)
  }

  /**
   * Announces the connector to Signalbox: id, system, flows, callback URL. The id is this
   * connector's own: when another callback that still answers holds it, Signalbox refuses (409) and
   * this throws, unless `replace` says to take it over (Signalbox keeps that in its audit log).
   */
  async register(
    callbackUrl: string,
    { replace = false }: { readonly replace?: boolean } = {},
  ): Promise<void> {
    const res = await untraced(() =>
      fetch(`${this.options.apiUrl}/api/connectors`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.authHeaders },
        body: JSON.stringify({
          id: this.options.id,
          system: this.options.system,
          flows: this.flows,
          callbackUrl,
          steps: [...this.steps].map(([name, s]) => ({
            name,
            flow: s.flow,
            stage: s.stage,
            schema: s.schema ? z.toJSONSchema(s.schema, { unrepresentable: 'any' }) : null,
            resync: Boolean(s.load),
          })),
          ...(replace ? { replace } : {}),
        }),
      }),
    )
    if (!res.ok) {
      const text = await res.text()
      let message = text
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text
      } catch {
        // not JSON: the text as it came
      }
      throw new RegistrationRefusedError(this.options.id, res.status, message)
    }
  }
}

/** Signalbox refused a connector's registration: `status` 409 when another live callback holds the id. */
export class RegistrationRefusedError extends Error {
  constructor(
    readonly connectorId: string,
    readonly status: number,
    message: string,
  ) {
    super(`Signalbox refused to register connector '${connectorId}' (${status}): ${message}`)
    this.name = 'RegistrationRefusedError'
  }
}

function dataError(err: unknown): boolean {
  return err instanceof SystemCallError && DATA_ERROR_STATUSES.includes(String(err.status))
}

function describe(err: unknown): { class: string; message: string } {
  if (err instanceof SystemCallError) return { class: err.errorClass, message: err.message }
  if (err instanceof Error) return { class: err.name, message: err.message }
  return { class: 'Error', message: String(err) }
}
