import { bytesField, varintField } from './protobuf-writer.ts'

/*
 * The rich gRPC status for a retryable refusal, sent as the `grpc-status-details-bin` trailer. OTLP
 * exporters retry RESOURCE_EXHAUSTED only when the status carries google.rpc.RetryInfo (the
 * OpenTelemetry Collector's exporter drops the data otherwise), and wait its `retry_delay`:
 *
 *   google.rpc.Status    { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3 }
 *   google.protobuf.Any  { string type_url = 1; bytes value = 2 }
 *   google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1 }
 *   google.protobuf.Duration { int64 seconds = 1; int32 nanos = 2 }
 *
 * Zero scalars are left out, as proto3 encoders do.
 */

const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo'

function duration(seconds: number): Buffer {
  const nanos = Math.round(Math.max(0, seconds) * 1e9)
  return Buffer.concat([varintField(1, Math.floor(nanos / 1e9)), varintField(2, nanos % 1e9)])
}

/**
 * Serialized google.rpc.Status `{ code, message, details: [RetryInfo { retry_delay }] }`, for the
 * `grpc-status-details-bin` trailer. `code` is the gRPC status code the call ends with.
 */
export function retryStatusDetails(code: number, message: string, retryAfterSeconds: number): Buffer {
  const retryInfo = bytesField(1, duration(retryAfterSeconds))
  const any = Buffer.concat([
    bytesField(1, Buffer.from(RETRY_INFO_TYPE_URL, 'utf8')),
    bytesField(2, retryInfo),
  ])
  return Buffer.concat([
    varintField(1, code),
    bytesField(2, Buffer.from(message, 'utf8')),
    bytesField(3, any),
  ])
}
