import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { readBody } from '../../collector/body.ts'
import { BadRequestError, PayloadTooLargeError, RetryableError } from '../../core/errors.ts'

/* Reading a request body: what it is charged to admission, and when. */

const MB = 1024 * 1024

const gzipRequest = (body: Buffer) =>
  new Request('http://collector/v1/traces', {
    method: 'POST',
    body: gzipSync(body),
    headers: { 'content-encoding': 'gzip' },
  })

describe('readBody', () => {
  it('charges a gzip body as it inflates, never in one lump', async () => {
    const original = Buffer.alloc(8 * MB, 'a')
    const request = gzipRequest(original)
    const charges: number[] = []
    const body = await readBody(request, 16 * MB, undefined, (n) => charges.push(n))
    expect(body.equals(original)).toBe(true)
    // Every byte inflated is charged, in pieces no larger than one inflate chunk.
    expect(Math.max(...charges)).toBeLessThanOrEqual(MB)
    expect(charges.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(original.length)
  })

  it('stops inflating when admission refuses: a small gzip of 16 MB holds no more than it is let', async () => {
    // The admission of a busy collector: 2 MB left for this request.
    // What it asked for, the refused charge included, is what it had inflated by then.
    let held = 0
    let asked = 0
    const charge = (n: number) => {
      asked += n
      if (held + n > 2 * MB) throw new RetryableError('queue_full', 'busy', 1)
      held += n
    }
    const err = await readBody(gzipRequest(Buffer.alloc(16 * MB)), 16 * MB, undefined, charge).catch((e) => e)
    expect(err).toBeInstanceOf(RetryableError)
    expect(asked).toBeLessThanOrEqual(3 * MB)
  })

  it('refuses a body past the limit once inflated (413) and one that is not gzip (400)', async () => {
    const tooLarge = await readBody(gzipRequest(Buffer.alloc(3 * MB)), 2 * MB).catch((e) => e)
    expect(tooLarge).toBeInstanceOf(PayloadTooLargeError)
    const truncated = gzipSync(Buffer.alloc(MB, 'x')).subarray(0, 500)
    const notGzip = await readBody(
      new Request('http://collector/v1/traces', {
        method: 'POST',
        body: truncated,
        headers: { 'content-encoding': 'gzip' },
      }),
      2 * MB,
    ).catch((e) => e)
    expect(notGzip).toBeInstanceOf(BadRequestError)
    expect(notGzip.code).toBe('invalid_gzip')
  })
})
