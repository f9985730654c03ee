import { BadRequestError } from '../../core/errors.ts'

const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/** W3C trace context: 16 bytes, not all zero. */
export function checkTraceId(id: string, path: string): void {
  if (!TRACE_ID.test(id) || id === ZERO_TRACE) {
    throw new BadRequestError(
      'invalid_trace_id',
      `${path}: trace id must be 16 bytes (32 hex digits), not all zero; got '${id.slice(0, 64)}'`,
    )
  }
}

/** W3C trace context: 8 bytes, not all zero. */
export function checkSpanId(id: string, path: string): void {
  if (!SPAN_ID.test(id) || id === ZERO_SPAN) {
    throw new BadRequestError(
      'invalid_span_id',
      `${path}: span id must be 8 bytes (16 hex digits), not all zero; got '${id.slice(0, 64)}'`,
    )
  }
}
