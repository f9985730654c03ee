import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { unlink, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buffer } from 'node:stream/consumers'
import { gunzipSync, gzipSync } from 'node:zlib'
import { Session } from 'chdb'

/**
 * A TEST DOUBLE of a ClickHouse server's HTTP interface, backed by the embedded engine: what
 * `@clickhouse/client` sends to port 8123 is answered as a server would, so Signalbox's server mode
 * (`CLICKHOUSE_URL`) runs in tests on a machine where no modern server can be installed. It lives in
 * `test/support` and is never part of the product.
 *
 * Covered, because the client uses it: the query in the URL or in the body (with insert data in the
 * body), `database`, `session_id`, `query_id`, `default_format`, settings and `param_*` bound
 * parameters as URL parameters, gzip on the request and response, `/ping`, the `X-ClickHouse-*`
 * headers (query id, summary, format, timezone, exception code) and the error text format the client
 * parses. Not covered: the Native protocol, HTTP sessions' timeouts, `session_check`, progress headers.
 *
 * The engine is one session, so requests run one at a time, and HTTP sessions share it: each request's
 * URL settings are set before it and put back to their defaults before the next, while a `SET`
 * statement holds for every later request (a server would keep it to its session).
 */
export interface ClickHouseHttp {
  readonly url: string
  /** Requests answered, by outcome: a test can see that server mode really went over HTTP. */
  readonly answered: { ok: number; failed: number }
  close(): Promise<void>
}

/** URL parameters that are the interface's own, not settings. */
const INTERFACE_PARAMS = new Set([
  'query',
  'database',
  'session_id',
  'session_timeout',
  'session_check',
  'query_id',
  'default_format',
  'user',
  'password',
  'compress',
  'decompress',
])

/** Settings that only shape the HTTP exchange: the double honours or ignores them, the engine never sees them. */
const HTTP_ONLY_SETTINGS = new Set([
  'enable_http_compression',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'http_zlib_compression_level',
  'http_native_compression_disable_checksumming_on_decompress',
  'cancel_http_readonly_queries_on_client_close',
])

/** How a server maps the commonest exception codes to HTTP statuses; anything else is 500. */
const HTTP_STATUS_BY_CODE: Record<number, number> = {
  36: 400, // BAD_ARGUMENTS
  43: 400, // ILLEGAL_TYPE_OF_ARGUMENT
  46: 404, // UNKNOWN_FUNCTION
  47: 404, // UNKNOWN_IDENTIFIER
  60: 404, // UNKNOWN_TABLE
  62: 400, // SYNTAX_ERROR
  81: 404, // UNKNOWN_DATABASE
  115: 404, // UNKNOWN_SETTING
  159: 500, // TIMEOUT_EXCEEDED
  456: 400, // UNKNOWN_QUERY_PARAMETER... (as the server answers a missing bound parameter)
  516: 401, // AUTHENTICATION_FAILED
}

/** A SQL string literal holding `text` exactly (the engine unescapes it back). */
const literal = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

interface Request {
  readonly sql: string
  readonly data?: Buffer
  readonly format: string
  readonly database?: string
  readonly settings: Map<string, string>
  readonly params: Map<string, string>
}

export async function startClickHouseHttp(
  options: { path?: string; user?: string; password?: string } = {},
): Promise<ClickHouseHttp> {
  const path = options.path ?? mkdtempSync(join(tmpdir(), 'clickhouse-http-'))
  const ownsPath = options.path === undefined
  const staging = join(path, 'http-staging')
  mkdirSync(staging, { recursive: true })
  const engine = new Session(path)
  const answered = { ok: 0, failed: 0 }
  let staged = 0
  let queue: Promise<unknown> = Promise.resolve()
  /** The URL settings in force in the engine: the last request's. */
  let inForce = new Map<string, string>()
  let currentDatabase = 'default'

  const run = (sql: string, format?: string) => engine.queryAsync(sql, format ? { format } : {})

  async function execute(req: Request) {
    const database = req.database ?? 'default'
    if (database !== currentDatabase) {
      if (!NAME.test(database))
        throw engineError(81, `Database ${database} does not exist`, 'UNKNOWN_DATABASE')
      await run(`USE ${database}`)
      currentDatabase = database
    }
    // Put back what the previous request set and this one does not; then set this one's.
    const reset = [...inForce.keys()].filter((k) => !req.settings.has(k))
    if (reset.length > 0) await run(`SET ${reset.map((k) => `${k} = DEFAULT`).join(', ')}`)
    const set = [...req.settings].filter(([k, v]) => inForce.get(k) !== v)
    for (const [k] of set)
      if (!NAME.test(k)) throw engineError(115, `Unknown setting ${k}`, 'UNKNOWN_SETTING')
    if (set.length > 0) await run(`SET ${set.map(([k, v]) => `${k} = ${literal(v)}`).join(', ')}`)
    inForce = new Map(req.settings)
    if (req.params.size > 0) {
      for (const k of req.params.keys())
        if (!NAME.test(k)) throw engineError(36, `Bad parameter name ${k}`, 'BAD_ARGUMENTS')
      await run(`SET ${[...req.params].map(([k, v]) => `param_${k} = ${literal(v)}`).join(', ')}`)
    }
    if (req.data === undefined || req.data.length === 0) return run(req.sql, req.format)
    // Insert data rides in the body, in any format (Native is binary): the engine reads it from a file.
    const match = /\bFORMAT\s+(\w+)\s*$/i.exec(req.sql)
    if (!match) throw engineError(62, 'Insert data sent without a FORMAT clause', 'SYNTAX_ERROR')
    const file = join(staging, `${staged++}.${match[1]}`)
    await writeFile(file, req.data)
    try {
      return await run(`${req.sql.slice(0, match.index)} FROM INFILE ${literal(file)} FORMAT ${match[1]}`)
    } finally {
      await unlink(file).catch(() => {})
    }
  }

  async function handle(incoming: IncomingMessage, res: ServerResponse) {
    const url = new URL(incoming.url ?? '/', 'http://double')
    if (url.pathname === '/ping') return void res.end('Ok.\n')
    const queryId = url.searchParams.get('query_id') ?? crypto.randomUUID()
    const headers: Record<string, string> = {
      'X-ClickHouse-Query-Id': queryId,
      'X-ClickHouse-Timezone': 'UTC',
      'X-ClickHouse-Server-Display-Name': 'clickhouse-http-test-double',
    }
    const compress =
      url.searchParams.get('enable_http_compression') === '1' &&
      /\bgzip\b/.test(String(incoming.headers['accept-encoding'] ?? ''))
    const reply = (status: number, body: Buffer) => {
      const out = compress ? gzipSync(body) : body
      res.writeHead(status, { ...headers, ...(compress ? { 'Content-Encoding': 'gzip' } : {}) })
      res.end(out)
    }
    try {
      checkAuth(incoming, url, options)
      let body = await buffer(incoming)
      if (incoming.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
      const inUrl = url.searchParams.get('query')
      const req: Request = {
        sql: inUrl ?? body.toString('utf8'),
        data: inUrl === null ? undefined : body,
        format: url.searchParams.get('default_format') ?? 'TabSeparated',
        database: url.searchParams.get('database') ?? undefined,
        settings: new Map(
          [...url.searchParams].filter(
            ([k]) => !INTERFACE_PARAMS.has(k) && !HTTP_ONLY_SETTINGS.has(k) && !k.startsWith('param_'),
          ),
        ),
        params: new Map(
          [...url.searchParams].filter(([k]) => k.startsWith('param_')).map(([k, v]) => [k.slice(6), v]),
        ),
      }
      const turn = queue.then(
        () => execute(req),
        () => execute(req),
      )
      queue = turn
      const result = await turn
      const out = Buffer.from(result.bytes())
      headers['X-ClickHouse-Format'] = req.format
      headers['X-ClickHouse-Summary'] = JSON.stringify({
        read_rows: String(result.rowsRead ?? 0),
        read_bytes: String(result.bytesRead ?? 0),
        written_rows: '0',
        written_bytes: '0',
        total_rows_to_read: '0',
        result_rows: '0',
        result_bytes: String(out.length),
        elapsed_ns: String(Math.round((result.elapsed ?? 0) * 1e9)),
      })
      answered.ok++
      reply(200, out)
    } catch (err) {
      answered.failed++
      const { code, text } = asServerError(err)
      headers['X-ClickHouse-Exception-Code'] = String(code)
      reply(HTTP_STATUS_BY_CODE[code] ?? 500, Buffer.from(`${text}\n`))
    }
  }

  // A server takes URLs up to 1 MiB (http_max_uri_size); Node's default header limit is 16 KB.
  const server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => void handle(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    answered,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await queue.catch(() => {})
      engine.close()
      if (ownsPath) rmSync(path, { recursive: true, force: true })
    },
  }
}

/** The server's users: with a user configured, every request must name it and its password. */
function checkAuth(req: IncomingMessage, url: URL, options: { user?: string; password?: string }) {
  if (options.user === undefined) return
  const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''))
  const [user, password] = basic
    ? Buffer.from(basic[1] ?? '', 'base64')
        .toString()
        .split(':', 2)
    : [
        req.headers['x-clickhouse-user'] ?? url.searchParams.get('user'),
        req.headers['x-clickhouse-key'] ?? url.searchParams.get('password'),
      ]
  if (user !== options.user || password !== (options.password ?? ''))
    throw engineError(
      516,
      `${String(user)}: Authentication failed: password is incorrect`,
      'AUTHENTICATION_FAILED',
    )
}

class EngineError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

function engineError(code: number, message: string, type: string): EngineError {
  return new EngineError(code, `Code: ${code}. DB::Exception: ${message}. (${type})`)
}

/** The engine's error as a server writes it: `Code: N. DB::Exception: … (TYPE) (version …)`. */
function asServerError(err: unknown): { code: number; text: string } {
  const message = err instanceof Error ? err.message : String(err)
  const code =
    err instanceof EngineError
      ? err.code
      : Number(
          (err as { clickhouseCode?: number }).clickhouseCode ?? /^Code: (\d+)\./.exec(message)?.[1] ?? 1000,
        )
  const text = /^Code: \d+\./.test(message)
    ? message
    : `Code: ${code}. DB::Exception: ${message}. (UNKNOWN_EXCEPTION)`
  return { code, text: `${text} (version 26.0.0.0 (test double))` }
}
