import * as grpc from '@grpc/grpc-js'
import type { CollectorCheck } from '../auth/middleware.ts'
import type { Config } from '../core/config.ts'
import { listenError, RetryableError, SignalboxError } from '../core/errors.ts'
import type { Logger } from '../core/logger.ts'
import type { Place } from './admission.ts'
import type { CollectorMetrics } from './metrics.ts'
import { retryStatusDetails } from './otlp/grpc-status.ts'
import { protobufResponse } from './otlp/response.ts'
import type { IngestPipeline, IngestResult } from './pipeline.ts'

/*
 * OTLP/gRPC. Messages stay raw bytes through grpc-js and go through the same decoder as OTLP/HTTP
 * protobuf, so both transports behave identically. Status codes follow the OTLP spec: INVALID_ARGUMENT
 * is final, UNAVAILABLE and RESOURCE_EXHAUSTED are retried by exporters.
 */

const identity = (b: Buffer) => b

function unaryExport(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  }
}

const traceService = { Export: unaryExport('/opentelemetry.proto.collector.trace.v1.TraceService/Export') }
const logsService = { Export: unaryExport('/opentelemetry.proto.collector.logs.v1.LogsService/Export') }

/**
 * A refusal the exporter should retry. The wait goes both as `retry-after` and as google.rpc.RetryInfo
 * in `grpc-status-details-bin`: exporters retry RESOURCE_EXHAUSTED only with RetryInfo, and drop the
 * data without it. grpc-js sends the status's metadata as trailers.
 */
function retryableStatus(
  code: grpc.status.RESOURCE_EXHAUSTED | grpc.status.UNAVAILABLE,
  details: string,
  retryAfterSeconds: number,
): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata()
  metadata.set('retry-after', String(retryAfterSeconds))
  metadata.set('grpc-status-details-bin', retryStatusDetails(code, details, retryAfterSeconds))
  return { code, details, metadata }
}

function toStatus(err: unknown, log: Logger): Partial<grpc.StatusObject> {
  if (err instanceof RetryableError)
    return retryableStatus(
      err.code === 'queue_full' ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.UNAVAILABLE,
      err.message,
      err.retryAfterSeconds,
    )
  // Larger than the queue could ever hold: RESOURCE_EXHAUSTED without RetryInfo, which OTLP
  // exporters take as final, as they do grpc-js's own refusal of a message over the size limit.
  if (err instanceof SignalboxError && err.status === 413)
    return { code: grpc.status.RESOURCE_EXHAUSTED, details: `${err.code}: ${err.message}` }
  if (err instanceof SignalboxError)
    return {
      code: err.status === 403 ? grpc.status.PERMISSION_DENIED : grpc.status.INVALID_ARGUMENT,
      details: `${err.code}: ${err.message}`,
    }
  log.error({ err }, 'unhandled error in gRPC export')
  return { code: grpc.status.INTERNAL, details: 'internal error' }
}

/** The HTTP status a gRPC refusal stands for, so /metrics counts both transports alike. */
const HTTP_EQUIVALENT: Partial<Record<grpc.status, number>> = {
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.UNAUTHENTICATED]: 401,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.RESOURCE_EXHAUSTED]: 429,
  [grpc.status.UNAVAILABLE]: 503,
}

/** What grpc-js's own statuses stand for: the HTTP status, and the reason counted. */
const TRANSPORT_REFUSALS: Partial<Record<grpc.status, { status: number; reason: string }>> = {
  [grpc.status.RESOURCE_EXHAUSTED]: { status: 413, reason: 'payload_too_large' },
  [grpc.status.UNIMPLEMENTED]: { status: 415, reason: 'unsupported_encoding' },
  [grpc.status.DEADLINE_EXCEEDED]: { status: 504, reason: 'deadline_exceeded' },
}

/** Where a handler names its refusal's reason for the interceptor, which counts it and takes it out. */
const REASON_KEY = 'x-signalbox-refusal-reason'

/**
 * Counts every refusal once, where the status goes out. grpc-js refuses a message over
 * `grpc.max_receive_message_length`, one it cannot decompress, and a call whose deadline passes,
 * itself, on the call it hands the first interceptor: no public hook reports it, so that call's own
 * `sendStatus` is wrapped. Statuses the handlers send come down through the interceptors to the same
 * place, with the product's reason in metadata. Only the first status of a call is counted: a handler
 * that refuses after grpc-js has answered the deadline reaches no one.
 */
function countRefusals(metrics: CollectorMetrics): grpc.ServerInterceptor {
  return (method, base) => {
    const signal = method.path === logsService.Export.path ? 'logs' : 'spans'
    let counted = false
    let fromHandler: { status: number; reason: string } | undefined
    const send = base.sendStatus.bind(base)
    base.sendStatus = (status) => {
      if (!counted && status.code !== grpc.status.OK) {
        counted = true
        const { status: http, reason } = fromHandler ??
          TRANSPORT_REFUSALS[status.code] ?? {
            status: 400,
            reason: 'invalid_message', // an undecompressable message or a malformed timeout header
          }
        metrics.refusedRequests.inc({ signal, transport: 'grpc', status: http, reason })
      }
      send(status)
    }
    return new grpc.ServerInterceptingCall(base, {
      sendStatus: (status, next) => {
        const reason = status.metadata?.get(REASON_KEY)[0]
        status.metadata?.remove(REASON_KEY)
        fromHandler = {
          status: reason === 'payload_too_large' ? 413 : (HTTP_EQUIVALENT[status.code] ?? 500),
          // A handler that threw is answered UNKNOWN by grpc-js, without a reason.
          reason: typeof reason === 'string' ? reason : 'internal',
        }
        next(status)
      },
    })
  }
}

/** Calls one connection may have open at once: an exporter sends a few, never hundreds. */
const MAX_CONCURRENT_STREAMS = 32

const AUTH_REASONS = { 401: 'unauthenticated', 403: 'forbidden', 429: 'rate_limited' } as const

function handler(
  /** Decodes and queues a request; tells `queued` when its rows are queued (admission's place back). */
  ingest: (
    body: Buffer,
    sources: readonly string[] | undefined,
    queued: (workMs?: number) => void,
  ) => Promise<IngestResult>,
  admit: (bytes: number) => Place,
  log: Logger,
  check: CollectorCheck,
): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    /** Every refusal is counted (countRefusals), by the HTTP status it stands for and this reason. */
    const refuse = (status: Partial<grpc.StatusObject>, reason: string) => {
      const metadata = status.metadata ?? new grpc.Metadata()
      metadata.set(REASON_KEY, reason)
      callback({ ...status, metadata })
    }
    const authorization = call.metadata.get('authorization')[0]
    check(typeof authorization === 'string' ? authorization : undefined, 'ingest')
      .then(({ refused, sources }) => {
        if (refused?.status === 429)
          // The limiter always says how long to wait; 1s keeps the refusal retryable if it ever does not.
          return refuse(
            retryableStatus(grpc.status.RESOURCE_EXHAUSTED, refused.message, refused.retryAfterSeconds ?? 1),
            AUTH_REASONS[429],
          )
        if (refused)
          return refuse(
            {
              code: refused.status === 401 ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED,
              details: refused.message,
            },
            AUTH_REASONS[refused.status],
          )
        // The message is already in memory (grpc-js reads it whole); admission still keeps decoding
        // from piling up on the decoding threads, and refuses what could not be written in time.
        const place = admit(call.request.length)
        return ingest(call.request, sources, place.leave)
          .finally(() => place.leave()) // once only: a no-op when the rows were queued
          .then((result) => callback(null, protobufResponse(result)))
      })
      .catch((err) => refuse(toStatus(err, log), err instanceof SignalboxError ? err.code : 'internal'))
  }
}

export async function startGrpcCollector(
  pipeline: IngestPipeline,
  config: Pick<Config, 'host' | 'otlpGrpcPort'> & {
    ingest: Pick<Config['ingest'], 'maxBodyBytes' | 'maxHeaderBytes'>
  },
  log: Logger,
  check: CollectorCheck = async () => ({}),
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.ingest.maxBodyBytes,
    'grpc.max_metadata_size': config.ingest.maxHeaderBytes,
    // grpc-js reads each call's message whole before admission sees it: a connection may not open
    // hundreds of calls at once to hold that many bodies (HTTP/2's default is unlimited).
    'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
    interceptors: [countRefusals(pipeline.metrics)],
  })
  server.addService(traceService, {
    Export: handler(
      (body, sources, queued) =>
        pipeline.spans({ body, encoding: 'protobuf', sources, nowMs: Date.now() }, 'grpc', queued),
      (bytes) => pipeline.admit(bytes),
      log,
      check,
    ),
  })
  server.addService(logsService, {
    Export: handler(
      (body, sources, queued) =>
        pipeline.logs({ body, encoding: 'protobuf', sources, nowMs: Date.now() }, 'grpc', queued),
      (bytes) => pipeline.admit(bytes),
      log,
      check,
    ),
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${config.host}:${config.otlpGrpcPort}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) =>
        err
          ? reject(listenError(err, 'SIGNALBOX_OTLP_GRPC_PORT', config.host, config.otlpGrpcPort))
          : resolve(p),
    ),
  )
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve())
      }),
  }
}
