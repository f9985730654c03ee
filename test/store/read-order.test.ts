import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { readingAs } from '../../core/reading.ts'
import { openStore, type Store } from '../../store/client.ts'
import { sql } from '../../store/sql.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-read-order-'))
let store: Store
beforeAll(async () => {
  store = await openStore({
    dataDir,
    // In the server-mode run, the same store over the ClickHouse HTTP test double.
    clickhouse: { database: 'signalbox_read_order', url: process.env.SIGNALBOX_TEST_CLICKHOUSE_URL },
  })
})
afterAll(async () => {
  await store.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** A bound read of about 200 ms: what a heavy dashboard read is to the engine, one at a time. */
const slowRead = (n: number) => sql`SELECT sum(sleepEachRow(0.05)) AS s FROM numbers(4) WHERE number < ${n}`

it("puts one caller's many reads in turn with others', behind the process's own", async () => {
  const done: string[] = []
  const note = (name: string) => () => void done.push(name)
  const flood = Array.from({ length: 12 }, (_, i) =>
    readingAs('viewer a', undefined, () => store.query(slowRead(4 + i))).then(note(`a${i + 1}`)),
  )
  const other = readingAs('viewer b', undefined, () => store.query(slowRead(4))).then(note('b'))
  // The collector's exactly-once lookups and token checks are the process's own reads.
  const own = store.query(slowRead(4)).then(note('collector'))
  await Promise.all([...flood, other, own])
  // First come, first served (the engine's own order) would answer b and the collector last.
  expect(done.indexOf('collector')).toBeLessThan(done.indexOf('b'))
  expect(done.slice(done.indexOf('b'))).toEqual(expect.arrayContaining(['a10', 'a11', 'a12']))
})
