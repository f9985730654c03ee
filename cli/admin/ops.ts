import { z } from 'zod'
import type { Role } from '../../auth/permissions.ts'
import { parseScope, scopeSchema } from '../../auth/scope.ts'
import { createToken, revokeToken, type TokenKind } from '../../auth/tokens.ts'
import type { Config } from '../../core/config.ts'
import { addKeyToFile, keyFileOf, loadKeyRing, type PayloadVault } from '../../core/payload-vault.ts'
import type { Store } from '../../store/client.ts'
import { rewriteExceptionPayloads } from '../../store/queries/exceptions.ts'
import { listTokens, type TokenRow } from '../../store/queries/tokens.ts'
import { CliError } from '../failure.ts'

/**
 * The admin commands of the CLI, one implementation for both ways of reaching the store: inside a
 * running Signalbox (behind its admin socket, cli/admin/socket.ts) or from the CLI's own process
 * when none runs. Either way they act on the same store, vault and settings.
 */
export interface AdminContext {
  readonly store: Store
  readonly config: Config
  /** The running api's vault when served by `start`, so a rotation takes effect there at once. */
  readonly vault: PayloadVault
}

export const tokenRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(['personal', 'service', 'ingest']).default('personal'),
    role: z.enum(['viewer', 'support', 'operator', 'admin']).default('viewer'),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
    scope: scopeSchema.optional(),
    /** Who asked, for the token's `createdBy` (the OS user running the CLI). */
    by: z.string().max(200).default('signalbox token create'),
  })
  .strict()

export type TokenRequest = z.input<typeof tokenRequestSchema>

export interface TokenView {
  readonly id: string
  readonly name: string
  readonly kind: string
  readonly role: string
  readonly createdBy: string
  readonly createdAt: string
  readonly expiresAt: string | null
  readonly revokedAt: string | null
  readonly lastUsedAt: string | null
  readonly scope: Record<string, string[] | undefined>
}

const iso = (ms: string | null | undefined) => (ms == null ? null : new Date(Number(ms)).toISOString())

export const tokenView = (t: TokenRow): TokenView => ({
  id: t.id,
  name: t.name,
  kind: t.kind,
  role: t.role,
  createdBy: t.created_by,
  createdAt: iso(t.created_ms) ?? '',
  expiresAt: iso(t.expires_ms),
  revokedAt: iso(t.revoked_ms),
  lastUsedAt: iso(t.last_used_ms),
  scope: parseScope(t.scope),
})

export async function createAdminToken(ctx: AdminContext, request: TokenRequest) {
  const r = tokenRequestSchema.parse(request)
  const created = await createToken(ctx.store, {
    name: r.name,
    kind: r.kind as TokenKind,
    role: r.role as Role,
    createdBy: r.by,
    expiresInDays: r.expiresInDays,
    scope: r.scope,
  })
  return { id: created.id, token: created.token, kind: r.kind, role: r.kind === 'ingest' ? 'ingest' : r.role }
}

export async function listAdminTokens(ctx: AdminContext): Promise<TokenView[]> {
  // Sessions are single sign-on cookies, not tokens a person manages from the command line.
  return (await listTokens(ctx.store)).filter((t) => t.kind !== 'session').map(tokenView)
}

export async function revokeAdminToken(ctx: AdminContext, id: string): Promise<TokenView> {
  const revoked = /^[0-9a-f]{16}$/.test(id) ? await revokeToken(ctx.store, id) : undefined
  if (!revoked)
    throw new CliError(`no token '${id.slice(0, 100)}'`, 'see the ids with `signalbox token list`')
  return tokenView(revoked)
}

/**
 * Every stored payload re-encrypted with the first key of the ring. `expectKeyId` is the first key
 * of the ring the CLI was given: a running Signalbox still on an older ring refuses rather than
 * re-encrypt with the key that is meant to go.
 */
export async function reencryptPayloads(ctx: AdminContext, { expectKeyId }: { expectKeyId?: string } = {}) {
  if (expectKeyId && expectKeyId !== ctx.vault.currentKeyId)
    throw new CliError(
      `the running Signalbox encrypts with payload key ${ctx.vault.currentKeyId}, but SIGNALBOX_PAYLOAD_KEYS here starts with ${expectKeyId}`,
      'restart Signalbox so it reads the new key ring, then run `signalbox payload-keys reencrypt` again',
    )
  const n = await rewriteExceptionPayloads(ctx.store, (payload, id) => ctx.vault.rotate(payload, id))
  return { n, keyId: ctx.vault.currentKeyId }
}

/** With the key file in the data dir: a new key first in it, taken at once, then every payload re-encrypted. */
export async function rotatePayloadKey(ctx: AdminContext) {
  if (ctx.config.payloadKeys)
    throw new CliError(
      'SIGNALBOX_PAYLOAD_KEYS is set, so there is no key file to rotate',
      'put a new key first in it (`signalbox payload-keys new`), restart Signalbox, then run `signalbox payload-keys reencrypt`',
    )
  const file = keyFileOf(ctx.config.dataDir)
  addKeyToFile(file)
  ctx.vault.useKeys(loadKeyRing(undefined, file))
  return { ...(await reencryptPayloads(ctx)), file }
}
