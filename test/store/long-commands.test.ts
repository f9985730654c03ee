import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../../store/client.ts'
import { migrate } from '../../store/migrate.ts'

/**
 * Server mode's long statements: a migration's copy of a large table runs for longer than any request
 * timeout. A stand-in for the server's HTTP interface answers the first table copy (`INSERT … SELECT`)
 * of each store only after `COPY_MS`, as a server busy copying would, and meanwhile does what a server
 * does: when asked for progress headers, it sends the status line at once and an
 * `X-ClickHouse-Progress` header at the asked interval; otherwise it sends nothing until done. Every
 * other statement is an empty success at once. The request timeout is short for the test, yet long
 * enough for those answers on a loaded machine.
 */
const REQUEST_TIMEOUT_MS = 400
const COPY_MS = 5_000 // beyond the long statements' ten request timeouts of silence, too

const MEMORY_LIMIT = 'Code: 241. DB::Exception: Memory limit (total) exceeded. (MEMORY_LIMIT_EXCEEDED)\n'

let server: Server
let url = ''
const copies: URLSearchParams[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const params = new URL(req.url ?? '/', 'http://stand-in').searchParams
      const query = params.get('query') ?? Buffer.concat(chunks).toString('utf8')
      if (!/^\s*INSERT INTO\b.*\bSELECT\b/is.test(query)) {
        res.writeHead(200, { 'Content-Type': 'text/plain' })
        res.end()
        return
      }
      copies.push(params)
      if (copies.length > 1) {
        res.writeHead(200, { 'Content-Type': 'text/plain' })
        res.end()
        return
      }
      // Written to the socket as the server streams them: the status line, then headers as it goes.
      const socket = req.socket
      const progress = params.get('send_progress_in_http_headers') === '1'
      let rows = 0
      let ticker: NodeJS.Timeout | undefined
      if (progress) {
        socket.write('HTTP/1.1 200 OK\r\n')
        ticker = setInterval(
          () => {
            rows += 65_536
            socket.write(`X-ClickHouse-Progress: {"read_rows":"${rows}","written_rows":"${rows}"}\r\n`)
          },
          Number(params.get('http_headers_progress_interval_ms')),
        )
      }
      setTimeout(() => {
        clearInterval(ticker)
        if (socket.destroyed) return
        const status = progress ? '' : 'HTTP/1.1 200 OK\r\n'
        // A copy that fails once the status is sent: the server says so in a header and the body.
        const [header, body] = query.includes('signalbox.doomed')
          ? ['X-ClickHouse-Exception-Code: 241\r\n', MEMORY_LIMIT]
          : ['', '']
        socket.end(
          `${status}${header}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        )
      }, COPY_MS)
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
    clickhouse: { url, user: 'default', password: '', database: 'signalbox' },
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    quiet: true,
  })

describe('long statements in server mode', () => {
  it('a migration outlasts the request timeout while the server reports progress on its table copies', async () => {
    copies.length = 0
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
