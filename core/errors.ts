/**
 * Domain errors. Each carries a stable machine-readable `code` and the HTTP status it maps to, so
 * every HTTP surface (collector, api) renders errors the same way without a switch per type.
 */
export class SignalboxError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message)
    this.name = new.target.name
  }
}

/** The request is malformed: nothing was written. */
export class BadRequestError extends SignalboxError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, message, 400, details)
  }
}

export class NotFoundError extends SignalboxError {
  constructor(message: string) {
    super('not_found', message, 404)
  }
}

export class PayloadTooLargeError extends SignalboxError {
  constructor(
    limitBytes: number,
    message = `request body exceeds the limit of ${limitBytes} bytes (after decompression)`,
  ) {
    super('payload_too_large', message, 413)
  }
}

export class UnsupportedMediaTypeError extends SignalboxError {
  constructor(contentType: string, supported: readonly string[]) {
    super(
      'unsupported_media_type',
      `content type '${contentType || '(none)'}' is not supported; use one of: ${supported.join(', ')}`,
      415,
    )
  }
}

/**
 * Not done *yet*: the store is failing or busy, or the queue is full. Clients (OTLP exporters,
 * connectors, the api's callers) retry after `retryAfterSeconds`; nothing was acknowledged, so
 * nothing is lost.
 */
export class RetryableError extends SignalboxError {
  constructor(
    code:
      | 'queue_full'
      | 'too_many_reads'
      | 'store_unavailable'
      | 'store_busy'
      | 'shutting_down'
      | 'decoder_restarted',
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    // A full queue and a caller's own reads are the caller's to slow down (429); the rest the store's.
    super(code, message, code === 'queue_full' || code === 'too_many_reads' ? 429 : 503)
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

/** A port that cannot be bound is a configuration problem: say which setting to change. */
export function listenError(err: Error, setting: string, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE')
    return new ConfigError([`${setting}: ${host}:${port} is already in use by another process`])
  if (code === 'EACCES') return new ConfigError([`${setting}: no permission to listen on ${host}:${port}`])
  return err
}
