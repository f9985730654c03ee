import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../core/errors.ts'

/**
 * A failure of a command, told as what was tried and what to do about it: the one line a person
 * reads, without a stack trace (that is for `--verbose`).
 */
export class CliError extends Error {
  constructor(
    readonly tried: string,
    readonly todo: string,
    options?: { cause?: unknown },
  ) {
    super(`${tried}: ${todo}`, options)
    this.name = 'CliError'
  }
}

interface ConnectCause {
  code?: string
  address?: string
  port?: number
  message?: string
}

/** Why a `fetch` failed, from undici's `cause` (ECONNREFUSED 127.0.0.1:8080), or undefined. */
export function fetchFailure(err: unknown): string | undefined {
  if (!(err instanceof TypeError) || err.message !== 'fetch failed') return undefined
  const cause = (err as { cause?: ConnectCause }).cause
  if (!cause) return 'the request failed'
  const where = cause.address ? ` ${cause.address}${cause.port ? `:${cause.port}` : ''}` : ''
  return cause.code ? `${cause.code}${where}` : (cause.message ?? 'the request failed')
}

/**
 * The process whose embedded engine holds the data dir, when that is why opening the store failed.
 * The engine locks `clickhouse/status` and writes its pid there; chdb prints the lock error itself
 * and throws only "Failed to create connection", so the pid is read back and checked to be alive.
 */
export function engineHolder(err: unknown, dataDir: string): number | undefined {
  if (!(err instanceof Error) || !/Failed to create connection|Cannot lock file/i.test(err.message))
    return undefined
  let pid: number
  try {
    pid = Number(/PID:\s*(\d+)/.exec(readFileSync(join(dataDir, 'clickhouse', 'status'), 'utf8'))?.[1])
  } catch {
    return undefined
  }
  if (!pid || pid === process.pid) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch (e) {
    // EPERM: alive, but another user's.
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined
  }
}

/**
 * A failure as the lines a person reads, and the exit code: 2 for a setting to change, 1 otherwise.
 * Errors the CLI does not know are shown by message, with a hint that `--verbose` shows more.
 */
export function describeFailure(err: unknown, { verbose = false } = {}): { text: string; exitCode: number } {
  const stack = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e))
  const withCauses = (e: unknown): string => {
    const cause = e instanceof Error ? e.cause : undefined
    return cause === undefined ? stack(e) : `${stack(e)}\ncaused by: ${withCauses(cause)}`
  }
  if (err instanceof ConfigError) return { text: verbose ? withCauses(err) : err.message, exitCode: 2 }
  if (err instanceof CliError) return { text: verbose ? withCauses(err) : err.message, exitCode: 1 }
  const reached = fetchFailure(err)
  const message = reached
    ? `a request failed (${reached}): is Signalbox running? Start it with \`npm start\``
    : err instanceof Error
      ? err.message
      : String(err)
  return {
    text: verbose ? withCauses(err) : `${message}\n(run again with --verbose for the details)`,
    exitCode: 1,
  }
}
