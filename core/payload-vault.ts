import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ConfigError } from './errors.ts'
import { mapAtPaths } from './json-paths.ts'

/**
 * Encryption at rest of the fields of an exception payload a connector marks sensitive (a
 * customer's name, e-mail, address): AES-256-GCM with a key ring from config. The first key
 * encrypts; every key decrypts, so a key is rotated by putting a new one first and re-encrypting
 * (`signalbox payload-keys rotate`). Each value is bound to its exception and path (the GCM
 * associated data), so a ciphertext copied elsewhere does not open.
 *
 * Distinct from connector sealing (connectors/sdk/sealing.ts), where only the connector holds the
 * key and Signalbox can never read the value.
 */
export const ENCRYPTED = '$encrypted'
const VERSION = 'sbx1'
/** What roles that may not read personal data see in place of an encrypted value. */
export const MASK = '[sensitive]'

type Json = Record<string, unknown>

export interface PayloadKey {
  readonly id: string
  readonly key: Buffer
}

/** `id:base64,id:base64` (or one per line): the first encrypts. */
export function parseKeyRing(text: string, source: string): PayloadKey[] {
  const keys = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith('#'))
    .map((entry) => {
      const at = entry.indexOf(':')
      const id = entry.slice(0, at)
      const key = Buffer.from(entry.slice(at + 1), 'base64')
      if (at < 1 || !/^[A-Za-z0-9_-]{1,32}$/.test(id))
        throw new ConfigError([`${source}: each key is id:base64 with a plain id (letters, digits, - and _)`])
      if (key.length !== 32) throw new ConfigError([`${source}: key ${id} must be 32 bytes, base64`])
      return { id, key }
    })
  if (keys.length === 0) throw new ConfigError([`${source}: no key`])
  if (new Set(keys.map((k) => k.id)).size !== keys.length)
    throw new ConfigError([`${source}: key ids must be distinct`])
  return keys
}

/** A new key, `id:base64`; the id tells keys apart by when they were made. */
export const newKey = (id = `k${Date.now().toString(36)}`): string =>
  `${id}:${randomBytes(32).toString('base64')}`

/** The key file of a data dir, used when `SIGNALBOX_PAYLOAD_KEYS` is not set. */
export const keyFileOf = (dataDir: string): string => join(dataDir, 'payload-keys')

/**
 * The key ring: `SIGNALBOX_PAYLOAD_KEYS` when set; otherwise a key file that is created on first
 * start (mode 0600) so a single-node install encrypts from the start and its replays survive a
 * restart. With ClickHouse on another host the file stays with Signalbox, away from the data.
 */
export function loadKeyRing(fromEnv: string | undefined, file: string): PayloadKey[] {
  if (fromEnv) return parseKeyRing(fromEnv, 'SIGNALBOX_PAYLOAD_KEYS')
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${newKey()}\n`, { mode: 0o600 })
  }
  chmodSync(file, 0o600)
  return parseKeyRing(readFileSync(file, 'utf8'), file)
}

export class PayloadVault {
  private keys: readonly PayloadKey[] = []
  private byId = new Map<string, Buffer>()

  constructor(keys: readonly PayloadKey[]) {
    this.useKeys(keys)
  }

  /**
   * Takes a new key ring in place, so a running api encrypts with a key added to the key file
   * (`signalbox payload-keys rotate` through the admin socket) and opens what was re-encrypted with it.
   */
  useKeys(keys: readonly PayloadKey[]): void {
    if (keys.length === 0) throw new Error('a payload vault needs at least one key')
    this.keys = keys
    this.byId = new Map(keys.map((k) => [k.id, k.key]))
  }

  get currentKeyId(): string {
    return (this.keys[0] as PayloadKey).id
  }

  /** The values at the given dot paths (`customer.email`) encrypted; `context` binds them (the exception id). */
  encryptFields(payload: unknown, paths: readonly string[], context: string): unknown {
    return mapAtPaths(payload, paths, (v, path) =>
      isEncrypted(v) ? v : this.encrypt(v, `${context}|${path}`),
    )
  }

  /** Every encrypted value opened, for roles that may read personal data (and for a replay). */
  reveal(payload: unknown, context: string): unknown {
    return mapEncrypted(payload, '', (sealed, path) => this.decrypt(sealed, `${context}|${path}`))
  }

  /** Every encrypted value re-encrypted with the current key; unchanged when all already are. */
  rotate(payload: unknown, context: string): { payload: unknown; changed: boolean } {
    let changed = false
    const rotated = mapEncrypted(payload, '', (sealed, path) => {
      if (sealed.split('.')[1] === this.currentKeyId) return { [ENCRYPTED]: sealed }
      changed = true
      const aad = `${context}|${path}`
      return this.encrypt(this.decrypt(sealed, aad), aad)
    })
    return { payload: rotated, changed }
  }

  private encrypt(value: unknown, aad: string): Json {
    const { id, key } = this.keys[0] as PayloadKey
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    cipher.setAAD(Buffer.from(aad))
    const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
    const parts = [VERSION, id, iv, data, cipher.getAuthTag()].map((p) =>
      typeof p === 'string' ? p : p.toString('base64url'),
    )
    return { [ENCRYPTED]: parts.join('.') }
  }

  private decrypt(sealed: string, aad: string): unknown {
    const [version, id, iv, data, tag] = sealed.split('.')
    const key = id === undefined ? undefined : this.byId.get(id)
    if (version !== VERSION || !iv || !data || !tag) throw new Error('not an encrypted payload value')
    if (!key) throw new Error(`payload key ${id} is not in the key ring`)
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
    decipher.setAAD(Buffer.from(aad))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    const text = Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()])
    return JSON.parse(text.toString('utf8'))
  }
}

export function isEncrypted(value: unknown): value is { [ENCRYPTED]: string } {
  return Boolean(value && typeof value === 'object' && typeof (value as Json)[ENCRYPTED] === 'string')
}

/** Every encrypted value replaced by the mask, for roles that may not read personal data. */
export function maskEncrypted(payload: unknown): unknown {
  return mapEncrypted(payload, '', () => MASK)
}

/** The dot paths of the encrypted values in a payload (`customer.email`). */
export function encryptedPaths(payload: unknown): string[] {
  const paths: string[] = []
  mapEncrypted(payload, '', (_, path) => paths.push(path))
  return paths
}

function mapEncrypted(value: unknown, path: string, f: (sealed: string, path: string) => unknown): unknown {
  if (isEncrypted(value)) return f(value[ENCRYPTED], path)
  if (Array.isArray(value)) return value.map((v, i) => mapEncrypted(v, path ? `${path}.${i}` : String(i), f))
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, mapEncrypted(v, path ? `${path}.${k}` : k, f)]),
    )
  return value
}

/** The vault for a configuration: its key ring, or the key file in its data dir. */
export function vaultFor(config: { readonly payloadKeys?: string; readonly dataDir: string }): PayloadVault {
  return new PayloadVault(loadKeyRing(config.payloadKeys, keyFileOf(config.dataDir)))
}

/** Puts a new key first in a key file (created if need be): it encrypts from now on. */
export function addKeyToFile(file: string): void {
  loadKeyRing(undefined, file)
  writeFileSync(file, `${newKey()}\n${readFileSync(file, 'utf8')}`, { mode: 0o600 })
}
