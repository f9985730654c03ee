import { unlinkSync } from 'node:fs'
import type { Config } from '../../core/config.ts'
import { createLogger } from '../../core/logger.ts'
import { type PayloadVault, vaultFor } from '../../core/payload-vault.ts'
import { openStore, type Store } from '../../store/client.ts'
import { migrate } from '../../store/migrate.ts'
import { CliError, engineHolder } from '../failure.ts'
import { adminRequest } from './client.ts'
import {
  type AdminContext,
  createAdminToken,
  listAdminTokens,
  reencryptPayloads,
  revokeAdminToken,
  rotatePayloadKey,
  type TokenRequest,
  type TokenView,
} from './ops.ts'
import { adminSocketPath, probeSocket } from './socket.ts'

export interface CreatedToken {
  readonly id: string
  readonly token: string
  readonly kind: string
  readonly role: string
}

/** The admin commands, whichever way the store was reached. */
export interface Admin {
  /** How the store was reached, said to the user before the command's own output. */
  readonly how: string
  createToken(request: TokenRequest): Promise<CreatedToken>
  listTokens(): Promise<TokenView[]>
  revokeToken(id: string): Promise<TokenView>
  reencrypt(options: { expectKeyId?: string }): Promise<{ n: number; keyId: string }>
  rotate(): Promise<{ n: number; keyId: string; file: string }>
  close(): Promise<void>
}

/**
 * The running Signalbox of this data dir through its admin socket when one answers; otherwise the
 * store itself, opened in this process (embedded: only possible while no Signalbox holds it; a
 * ClickHouse server has no such lock, so server mode always opens it directly).
 */
export async function reachAdmin(config: Config): Promise<Admin> {
  if (config.clickhouse.url) {
    const server = new URL(config.clickhouse.url)
    return openDirect(config, `opened the ClickHouse server at ${server.origin} directly`)
  }
  const socket = adminSocketPath(config.dataDir)
  const state = await probeSocket(socket)
  if (state === 'live') return throughSocket(socket)
  const admin = await openDirect(
    config,
    `no Signalbox is running on ${config.dataDir}; opened its embedded store directly`,
    socket,
  )
  if (state === 'stale') {
    // Holding the engine's lock, this process knows no Signalbox serves the data dir: the socket is
    // a killed process's. (`start` removes it too.)
    unlinkSync(socket)
    return { ...admin, how: `${admin.how} (and removed the stale admin socket a killed Signalbox left)` }
  }
  return admin
}

async function throughSocket(socket: string): Promise<Admin> {
  const call = <T>(method: string, path: string, body?: unknown) =>
    adminRequest<T>(socket, method, path, body)
  // A process that accepts connections but never answers (stopped, hung) must not hang the CLI.
  const { pid } = await adminRequest<{ pid: number }>(socket, 'GET', '/', undefined, 10_000)
  return {
    how: `through the running Signalbox (pid ${pid}, admin socket ${socket})`,
    createToken: (request) => call('POST', '/tokens', request),
    listTokens: async () => (await call<{ tokens: TokenView[] }>('GET', '/tokens')).tokens,
    revokeToken: async (id) =>
      (await call<{ token: TokenView }>('DELETE', `/tokens/${encodeURIComponent(id)}`)).token,
    reencrypt: (options) => call('POST', '/payload-keys/reencrypt', options),
    rotate: () => call('POST', '/payload-keys/rotate', {}),
    close: async () => {},
  }
}

async function openDirect(config: Config, how: string, socket?: string): Promise<Admin> {
  const store = await openStoreForCli(config, socket)
  try {
    await migrate(
      store,
      config.retentionDays,
      createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel),
    )
  } catch (err) {
    await store.close()
    throw err
  }
  // Token commands need no vault: the key file is made only when a payload command asks for it.
  let vault: PayloadVault | undefined
  const ctx: AdminContext = {
    store,
    config,
    get vault() {
      vault ??= vaultFor(config)
      return vault
    },
  }
  return {
    how,
    createToken: (request) => createAdminToken(ctx, request),
    listTokens: () => listAdminTokens(ctx),
    revokeToken: (id) => revokeAdminToken(ctx, id),
    reencrypt: (options) => reencryptPayloads(ctx, options),
    rotate: () => rotatePayloadKey(ctx),
    close: () => store.close(),
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET'])

/** Opens the store for a one-off command, with what went wrong told in the store's terms. */
export async function openStoreForCli(
  config: Config,
  socket = adminSocketPath(config.dataDir),
): Promise<Store> {
  try {
    return await openStore({ ...config, quiet: true })
  } catch (err) {
    const holder = engineHolder(err, config.dataDir)
    if (holder)
      throw new CliError(
        `the embedded store in ${config.dataDir} is held by process ${holder}, and no Signalbox answers on ${socket}`,
        'run this as the user that runs Signalbox, with the same SIGNALBOX_DATA_DIR; if that process is Signalbox, its log says why it serves no admin socket (restart it to serve one), or stop it',
        { cause: err },
      )
    const code = (err as NodeJS.ErrnoException).code
    if (config.clickhouse.url && code && UNREACHABLE.has(code))
      throw new CliError(
        `could not reach the ClickHouse server at ${new URL(config.clickhouse.url).origin} (${code})`,
        'check CLICKHOUSE_URL and that the server is running',
        { cause: err },
      )
    throw err
  }
}
