import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs'
import { createServer } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import type { Logger } from '../../core/logger.ts'
import { CliError } from '../failure.ts'
import {
  type AdminContext,
  createAdminToken,
  listAdminTokens,
  reencryptPayloads,
  revokeAdminToken,
  rotatePayloadKey,
} from './ops.ts'

/**
 * The admin socket: how `signalbox token …` and `signalbox payload-keys …` reach a running
 * Signalbox, whose embedded engine holds the store's lock. A Unix socket in the data dir, mode 0600
 * in a directory only its owner can write to, so only that user (and root) can connect; it serves
 * those commands and nothing else, and never listens on TCP.
 */
export const adminSocketPath = (dataDir: string): string => join(dataDir, 'admin.sock')

/** `sun_path` holds 108 bytes on Linux, 104 on macOS, with the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 103
/** The largest admin request body: a token request or a key id is a few hundred bytes. */
const MAX_ADMIN_BODY_BYTES = 64 * 1024

export type SocketState = 'live' | 'stale' | 'absent'

/**
 * Whether a Signalbox answers on the socket: `stale` is a file left by a process that was killed
 * (nothing accepts a connection on it). A file that is not a socket, or belongs to another user, is
 * never taken for ours.
 */
export async function probeSocket(path: string): Promise<SocketState> {
  let st: ReturnType<typeof lstatSync>
  try {
    st = lstatSync(path)
  } catch {
    return 'absent'
  }
  if (!st.isSocket())
    throw new CliError(
      `${path} is not a socket`,
      'move that file away: Signalbox keeps its admin socket there',
    )
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid)
    throw new CliError(
      `${path} belongs to user ${st.uid}, not to you (${uid})`,
      'run this command as the user that runs Signalbox',
    )
  return new Promise((resolve) => {
    const socket = connect(path)
    socket.once('connect', () => {
      socket.destroy()
      resolve('live')
    })
    socket.once('error', () => resolve('stale'))
  })
}

/** The routes the socket serves: the CLI's admin commands, nothing more. */
export function adminApp(ctx: AdminContext) {
  return new Hono()
    .use(
      // Admin requests are a few hundred bytes; a local client sending more must not fill the heap
      // of the process that is also taking every sender's data.
      bodyLimit({
        maxSize: MAX_ADMIN_BODY_BYTES,
        onError: (c) =>
          c.json(
            { error: { tried: 'the admin request', todo: `send at most ${MAX_ADMIN_BODY_BYTES} bytes` } },
            413,
          ),
      }),
    )
    .get('/', (c) => c.json({ service: 'signalbox', pid: process.pid, dataDir: ctx.config.dataDir }))
    .get('/tokens', async (c) => c.json({ tokens: await listAdminTokens(ctx) }))
    .post('/tokens', async (c) =>
      // createAdminToken validates the request (a ZodError is a 400 below).
      c.json(await createAdminToken(ctx, await c.req.json()), 201),
    )
    .delete('/tokens/:id', async (c) => c.json({ token: await revokeAdminToken(ctx, c.req.param('id')) }))
    .post('/payload-keys/reencrypt', async (c) => {
      const { expectKeyId } = z
        .object({ expectKeyId: z.string().max(32).optional() })
        .parse(await c.req.json())
      return c.json(await reencryptPayloads(ctx, { expectKeyId }))
    })
    .post('/payload-keys/rotate', async (c) => c.json(await rotatePayloadKey(ctx)))
    .notFound((c) =>
      c.json({ error: { tried: `${c.req.method} ${c.req.path}`, todo: 'not an admin command' } }, 404),
    )
    .onError((err, c) => {
      if (err instanceof CliError) return c.json({ error: { tried: err.tried, todo: err.todo } }, 409)
      if (err instanceof z.ZodError)
        return c.json({ error: { tried: 'the admin request', todo: z.prettifyError(err) } }, 400)
      if (err instanceof SyntaxError)
        return c.json({ error: { tried: 'the admin request', todo: 'send a JSON body' } }, 400)
      return c.json({ error: { tried: 'the running Signalbox', todo: `${err.message}; see its log` } }, 500)
    })
}

/**
 * The data dir holds the socket, the payload key file and the store: no one but its owner may write
 * to it (or could swap the socket for their own), so group and other write are removed when found.
 * Undefined when it is fine, else why the socket cannot be served.
 */
function secureDataDir(dir: string, log: Logger): string | undefined {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const st = statSync(dir)
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid)
    return `${dir} belongs to user ${st.uid}, not to this process's (${uid})`
  if (st.mode & 0o022) {
    chmodSync(dir, st.mode & 0o755)
    log.warn({ dataDir: dir }, 'the data dir was writable by other users; now only its owner may write to it')
  }
  return undefined
}

function settableUmask(mask: number): number | undefined {
  try {
    return process.umask(mask)
  } catch {
    return undefined
  }
}

export interface AdminSocket {
  readonly path: string
  close(): Promise<void>
}

/**
 * Serves the admin socket of the data dir. A socket left by a killed process is removed first; one
 * that answers means another Signalbox serves this data dir. Undefined (with a warning) when the
 * socket cannot be served safely; the commands then need Signalbox stopped.
 */
export async function serveAdminSocket(ctx: AdminContext, log: Logger): Promise<AdminSocket | undefined> {
  const path = adminSocketPath(ctx.config.dataDir)
  const refuse = (why: string) => {
    log.warn(
      { path },
      `admin socket not served (${why}): \`signalbox token\` and \`payload-keys\` need Signalbox stopped`,
    )
    return undefined
  }
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES)
    return refuse(`the path is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter SIGNALBOX_DATA_DIR`)
  const insecure = secureDataDir(ctx.config.dataDir, log)
  if (insecure) return refuse(insecure)
  let state: SocketState
  try {
    state = await probeSocket(path)
  } catch (err) {
    return refuse((err as Error).message)
  }
  if (state === 'live') return refuse('another process answers on it')
  if (state === 'stale') {
    unlinkSync(path)
    log.info({ path }, 'removed the admin socket a stopped Signalbox left behind')
  }
  const server = createServer(getRequestListener(adminApp(ctx).fetch))
  // A local client that sends slowly or never finishes gives up its connection after 10 s.
  server.requestTimeout = 10_000
  server.headersTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // The socket is bound inside listen(), synchronously: with this umask it is created 0600, never
    // reachable by others for a moment before the chmod. (Worker threads may not set it; the
    // directory, writable by its owner only, still keeps others from swapping the socket.)
    const umask = settableUmask(0o177)
    try {
      server.listen(path, () => resolve())
    } finally {
      if (umask !== undefined) process.umask(umask)
    }
  })
  chmodSync(path, 0o600)
  log.info({ path }, 'admin socket listening (signalbox token, payload-keys)')
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
