import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../../store/client.ts'
import { migrate } from '../../store/migrate.ts'
import { sql } from '../../store/sql.ts'

/**
 * Server mode's long statements: a migration's copy of a large table runs for longer than any request
 * timeout. A stand-in for the server's HTTP interface answers the first table copy (`INSERT … SELECT`)
 * of each test only after `COPY_MS`, as a server busy copying would, and meanwhile does what a server
 * does: when asked for progress headers, it sends the status line at once and an
 * `X-ClickHouse-Progress` header at the asked interval (padded, as a server's carry more counters, so
 * that together they pass Node's default 16 KiB of response headers); otherwise it sends nothing until
 * done. Every other statement is an empty success at once. The request timeout is short for the test,
 * yet long enough for those answers on a loaded machine.
 */
const REQUEST_TIMEOUT_MS = 1_000
const COPY_MS = 11_000 // beyond the long statements' ten request timeouts of silence
const FAIL_MS = 2_000 // a copy that fails after its first progress headers
const PADDING = 'x'.repeat(1_024)

const MEMORY_LIMIT = 'Code: 241. DB::Exception: Memory limit (total) exceeded. (MEMORY_LIMIT_EXCEEDED)\n'

let server: Server
let url = ''
/** The settings of every statement sent as a long one (those asking for progress), and of every copy. */
const long: Array<{ readonly query: string; readonly params: URLSearchParams }> = []
const copies: URLSearchParams[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const params = new URL(req.url ?? '/', 'http://stand-in').searchParams
      const query = params.get('query') ?? Buffer.concat(chunks).toString('utf8')
      const progress = params.get('send_progress_in_http_headers') === '1'
      if (progress) long.push({ query, params })
      const copy = /^\s*INSERT INTO\b.*\bSELECT\b/is.test(query)
      if (copy) copies.push(params)
      if (!copy || copies.length > 1) {
        res.writeHead(200, { 'Content-Type': 'text/plain' })
        res.end()
        return
      }
      // Written to the socket as the server streams them: the status line, then headers as it goes.
      const socket = req.socket
      const doomed = query.includes('signalbox.doomed')
      let rows = 0
      let ticker: NodeJS.Timeout | undefined
      if (progress) {
        socket.write('HTTP/1.1 200 OK\r\n')
        ticker = setInterval(
          () => {
            rows += 65_536
            socket.write(`X-ClickHouse-Progress: {"read_rows":"${rows}","padding":"${PADDING}"}\r\n`)
          },
          Number(params.get('http_headers_progress_interval_ms')),
        )
      }
      const done = setTimeout(
        () => {
          clearInterval(ticker)
          const status = progress ? '' : 'HTTP/1.1 200 OK\r\n'
          // A copy that fails once the status is sent: the server says so in a header and the body.
          const [header, body] = doomed ? ['X-ClickHouse-Exception-Code: 241\r\n', MEMORY_LIMIT] : ['', '']
          socket.end(
            `${status}${header}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
          )
        },
        doomed ? FAIL_MS : COPY_MS,
      )
      // A client that gave up: the server's work goes on, but nothing more is written to it.
      socket.on('close', () => {
        clearTimeout(done)
        clearInterval(ticker)
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => {
  server.closeAllConnections()
  return new Promise<void>((resolve) => server.close(() => resolve()))
})

const openServerStore = () =>
  openStore({
    dataDir: '',
    clickhouse: {
      url,
      user: 'default',
      password: '',
      database: 'signalbox',
      requestTimeoutSeconds: REQUEST_TIMEOUT_MS / 1000,
    },
    quiet: true,
  })

describe('long statements in server mode', () => {
  it('a migration outlasts the request timeout while the server reports progress on its table copies', async () => {
    copies.length = 0
    long.length = 0
    const store = await openServerStore()
    try {
      await migrate(store, { spans: 30, logs: 14, events: 400 })
    } finally {
      await store.close()
    }
    // The rebuilds of migrations 16, 24 and 27 and the backfills of 15, 17, 22 and 27, each of which
    // asked for progress at half the request timeout.
    expect(copies).toHaveLength(7)
    for (const params of copies) {
      expect(params.get('send_progress_in_http_headers')).toBe('1')
      expect(Number(params.get('http_headers_progress_interval_ms'))).toBe(REQUEST_TIMEOUT_MS / 2)
    }
    // Every migration statement is a long one, and drops what it copied or retired whatever its size:
    // the copies' leftovers and the old tables of the three rebuilds, and span_keys (migration 28).
    const drops = long.filter((s) => s.query.startsWith('DROP TABLE'))
    expect(drops.map((s) => s.query)).toContain('DROP TABLE IF EXISTS signalbox.span_keys SYNC')
    expect(drops.length).toBeGreaterThan(6)
    for (const { query, params } of long) expect(params.get('max_table_size_to_drop'), query).toBe('0')
  })

  it('a long statement that fails after its progress headers is an error, not a success', async () => {
    copies.length = 0
    const store = await openServerStore()
    try {
      await expect(
        store.command('INSERT INTO signalbox.doomed SELECT * FROM signalbox.spans', { long: true }),
      ).rejects.toThrow(/Memory limit \(total\) exceeded/)
    } finally {
      await store.close()
    }
  })

  it('an ordinary statement as slow fails at the request timeout: it asks for no progress', async () => {
    copies.length = 0
    const store = await openServerStore()
    try {
      await expect(
        store.command('INSERT INTO signalbox.replays SELECT * FROM signalbox.replays'),
      ).rejects.toThrow(/timeout/i)
    } finally {
      await store.close()
    }
    expect(copies[0]?.has('send_progress_in_http_headers')).toBe(false)
  })
})

describe('drops in the embedded engine', () => {
  it('a migration drops what it copied or retired whatever its size (the engine refuses over 50 GB by default)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-drops-'))
    const store = await openStore({
      dataDir,
      clickhouse: { user: 'default', password: '', database: 'signalbox' },
    })
    try {
      const [row] = await store.query<{ value: string }>(
        sql`SELECT value FROM system.settings WHERE name = 'max_table_size_to_drop'`,
      )
      expect(row?.value).toBe('0')
    } finally {
      await store.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
