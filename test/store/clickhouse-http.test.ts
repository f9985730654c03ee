import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { createClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClickHouseHttp, startClickHouseHttp } from '../support/clickhouse-http.ts'

/**
 * The server-mode test double speaks what `@clickhouse/client` expects of a server's HTTP interface:
 * if it did not, the server-mode run of the suites would test the double rather than Signalbox.
 */
let server: ClickHouseHttp
beforeAll(async () => {
  server = await startClickHouseHttp({ user: 'signalbox', password: 's3cret' })
})
afterAll(() => server?.close())

const client = (extra: Parameters<typeof createClient>[0] = {}) =>
  createClient({ url: server.url, username: 'signalbox', password: 's3cret', ...extra })

describe('the ClickHouse HTTP test double', () => {
  it('binds parameters server-side, in the text format the client sends', async () => {
    const c = client()
    const rows = await c
      .query({
        query: 'SELECT {s:String} AS s, {a:Array(String)} AS a, {n:UInt64} AS n',
        query_params: { s: "it's a\ttab\\", a: ["x'y", 'z'], n: 18446744073709551615n },
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      })
      .then((r) => r.json())
    expect(rows).toEqual([{ s: "it's a\ttab\\", a: ["x'y", 'z'], n: '18446744073709551615' }])
    await c.close()
  })

  it('applies settings per request and puts them back', async () => {
    const c = client()
    const read = (settings = {}) =>
      c
        .query({
          query: "SELECT getSetting('max_execution_time') AS t",
          format: 'JSONEachRow',
          clickhouse_settings: settings,
        })
        .then((r) => r.json<{ t: number }>())
    expect(await read({ max_execution_time: 7 })).toEqual([{ t: 7 }])
    expect(await read()).toEqual([{ t: 0 }])
    await c.close()
  })

  it('takes inserts in the body (JSON and Native), per database, with compressed requests and responses', async () => {
    const boot = client()
    await boot.command({ query: 'CREATE DATABASE IF NOT EXISTS double_test' })
    const c = client({ database: 'double_test', compression: { request: true, response: true } })
    await c.command({ query: 'CREATE TABLE t (id UInt32, name String) ENGINE = MergeTree ORDER BY id' })
    await c.insert({ table: 't', values: [{ id: 1, name: 'one' }], format: 'JSONEachRow' })
    const { stream } = await c.exec({ query: "SELECT 2 AS id, 'two' AS name FORMAT Native" })
    const native = await buffer(stream)
    await c.exec({ query: 'INSERT INTO t (id, name) FORMAT Native', values: Readable.from([native]) })
    const rows = await c
      .query({ query: 'SELECT id, name FROM t ORDER BY id', format: 'JSONEachRow' })
      .then((r) => r.json())
    expect(rows).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ])
    await Promise.all([boot.close(), c.close()])
  })

  it('answers errors as a server does: code, type and status the client parses', async () => {
    const c = client()
    const failure = await c
      .query({ query: 'SELECT * FROM no_such_table', format: 'JSONEachRow' })
      .catch((e) => e)
    expect(failure).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' })
    const wrong = createClient({ url: server.url, username: 'signalbox', password: 'wrong' })
    expect(await wrong.query({ query: 'SELECT 1' }).catch((e) => e)).toMatchObject({
      type: 'AUTHENTICATION_FAILED',
    })
    await Promise.all([c.close(), wrong.close()])
    expect(server.answered.failed).toBeGreaterThanOrEqual(2)
  })
})
