import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../core/errors.ts'

/** What gzip inflates between two charges: the most a request takes before admission is told. */
const INFLATE_CHUNK = 256 * 1024

/**
 * Reads a request body with a hard limit on both the bytes received and, for gzip, the bytes it
 * inflates to: a 20 kB gzip bomb that would expand to gigabytes is refused at the limit, not after.
 *
 * Under the Node server the body is read from its own stream (`incoming`), never touching the
 * Request's: building the web Request and its ReadableStream took about a tenth of the main thread's
 * busy time at 64 senders (a CPU profile of `BENCH_POINTS=64x512 npm run bench:ingest`).
 */
export async function readBody(
  request: Request,
  limit: number,
  incoming?: Readable,
  /** Told the bytes as they arrive and as gzip inflates them (admission's charge); may throw to stop. */
  charge: (bytes: number) => void = () => {},
): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN)
  if (declared > limit) throw new PayloadTooLargeError(limit)
  const chunks: Buffer[] = []
  let size = 0
  // Not destroyed when the limit stops the read: the server then drains and closes the connection,
  // where a destroyed request would leave the sender's upload hanging on a paused socket.
  const body = incoming ? incoming.iterator({ destroyOnReturn: false }) : request.body
  if (body) {
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength
        if (size > limit) throw new PayloadTooLargeError(limit)
        charge(chunk.byteLength)
        chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      }
    } catch (err) {
      // A sender that hangs up mid-body is its own doing, not the collector's fault: counted as a
      // refusal of its own, not logged as an internal error.
      if (incoming?.errored && !(err instanceof PayloadTooLargeError))
        throw new BadRequestError('client_closed', 'the sender closed the connection before the body ended')
      throw err
    }
  }
  const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)
  const encoding = (request.headers.get('content-encoding') ?? 'identity').trim().toLowerCase()
  if (encoding === 'identity' || encoding === '') return raw
  if (encoding !== 'gzip') {
    throw new UnsupportedMediaTypeError(`Content-Encoding: ${encoding}`, ['gzip', 'identity'])
  }
  return inflate(raw, limit, charge)
}

/**
 * Inflates gzip a chunk at a time, charging each as it comes: inflated in one call, forty 16 KB
 * bodies of 16 MB each took 640 MB at once before admission could refuse any of them.
 */
async function inflate(raw: Buffer, limit: number, charge: (bytes: number) => void): Promise<Buffer> {
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK })
  const chunks: Buffer[] = []
  let size = 0
  gunzip.end(raw)
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > limit) throw new PayloadTooLargeError(limit)
      charge(chunk.length)
      chunks.push(chunk)
    }
  } catch (err) {
    // zlib's own errors carry a Z_ code; a refusal by the limit or by admission passes through.
    if (String((err as NodeJS.ErrnoException).code).startsWith('Z_'))
      throw new BadRequestError('invalid_gzip', `the body is not valid gzip: ${(err as Error).message}`)
    throw err
  } finally {
    gunzip.destroy()
  }
  return Buffer.concat(chunks, size)
}

/** The media type without parameters, lower-cased: `application/json; charset=utf-8` → `application/json`. */
export function mediaType(request: Request): string {
  return (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}
