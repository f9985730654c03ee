import { BadRequestError } from '../../core/errors.ts'

const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

type Path = string | { render(): string }
const render = (path: Path, suffix: string) => (typeof path === 'string' ? path : path.render()) + suffix

function invalidTrace(id: string, path: Path, suffix: string): never {
  throw new BadRequestError(
    'invalid_trace_id',
    `${render(path, suffix)}: trace id must be 16 bytes (32 hex digits), not all zero; got '${id.slice(0, 64)}'`,
  )
}

function invalidSpan(id: string, path: Path, suffix: string): never {
  throw new BadRequestError(
    'invalid_span_id',
    `${render(path, suffix)}: span id must be 8 bytes (16 hex digits), not all zero; got '${id.slice(0, 64)}'`,
  )
}

/** W3C trace context: 16 bytes, not all zero. For ids given as text (OTLP/JSON, CloudEvents). */
export function checkTraceId(id: string, path: Path, suffix = ''): void {
  if (!TRACE_ID.test(id) || id === ZERO_TRACE) invalidTrace(id, path, suffix)
}

/** W3C trace context: 8 bytes, not all zero. For ids given as text. */
export function checkSpanId(id: string, path: Path, suffix = ''): void {
  if (!SPAN_ID.test(id) || id === ZERO_SPAN) invalidSpan(id, path, suffix)
}

/** For ids decoded from bytes, which are hex by construction: only length and zero need checking. */
export function checkHexTraceId(id: string, path: Path, suffix = ''): void {
  if (id.length !== 32 || id === ZERO_TRACE) invalidTrace(id, path, suffix)
}

export function checkHexSpanId(id: string, path: Path, suffix = ''): void {
  if (id.length !== 16 || id === ZERO_SPAN) invalidSpan(id, path, suffix)
}
