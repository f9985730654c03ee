import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { mapAtPaths } from '../../core/json-paths.ts'

/**
 * Sensitive fields of an exception payload, sealed with a key only the connector holds
 * (AES-256-GCM): Signalbox stores and shows the payload without ever holding the personal data in
 * clear, and a replay still works because the connector opens the fields again when its callback
 * receives them.
 */
const MARK = '$sealed'

type Json = Record<string, unknown>

function keyBytes(key: string): Buffer {
  const bytes = Buffer.from(key, 'base64')
  if (bytes.length !== 32) throw new Error('the payload key must be 32 bytes, base64')
  return bytes
}

function seal(value: unknown, key: Buffer): Json {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
  return {
    [MARK]: `v1.${iv.toString('base64')}.${data.toString('base64')}.${cipher.getAuthTag().toString('base64')}`,
  }
}

function open(sealed: string, key: Buffer): unknown {
  const [version, iv, data, tag] = sealed.split('.')
  if (version !== 'v1' || !iv || !data || !tag) throw new Error('not a sealed value')
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'))
  decipher.setAuthTag(Buffer.from(tag, 'base64'))
  return JSON.parse(
    Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8'),
  )
}

/** Seals the values at the given dot paths with the connector's key. */
export function sealFields(payload: unknown, paths: readonly string[], key: string): unknown {
  const k = keyBytes(key)
  return mapAtPaths(payload, paths, (v) => seal(v, k))
}

/** Opens every sealed value in `payload`; a value sealed with another key fails loudly. */
export function openFields(payload: unknown, key: string | undefined): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (v && typeof v === 'object') {
      const sealed = (v as Json)[MARK]
      if (typeof sealed === 'string') {
        if (!key) throw new Error('the payload holds sealed fields and this connector has no payload key')
        return open(sealed, keyBytes(key))
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    }
    return v
  }
  return walk(payload)
}
