import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Whether `signature` is the HMAC-SHA256 of the raw body under `secret`, the way Shopify signs
 * `X-Shopify-Hmac-Sha256` (base64) and others sign in hex. Compared in constant time, over the bytes:
 * the body as received, never re-serialised JSON, which would not hash the same.
 */
export function signedBy(
  body: Buffer,
  secret: string,
  signature: string | undefined,
  encoding: 'base64' | 'hex',
): boolean {
  if (!signature) return false
  const expected = createHmac('sha256', secret).update(body).digest()
  const given = Buffer.from(signature.trim(), encoding)
  // Equal lengths first: timingSafeEqual throws otherwise, and a length says nothing about the secret.
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** What a platform would send: for tests and the docs' curl example. */
export function signBody(
  body: Buffer | string,
  secret: string,
  encoding: 'base64' | 'hex' = 'base64',
): string {
  return createHmac('sha256', secret).update(body).digest(encoding)
}
