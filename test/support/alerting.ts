import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { loadAlerting } from '../../alerts/config.ts'
import { type EvaluatorDeps, evaluate } from '../../alerts/evaluator.ts'
import { loadSlos } from '../../alerts/spec.ts'
import { loadCatalog } from '../../core/catalog.ts'
import { loadFlows } from '../../core/flows.ts'
import { createLogger } from '../../core/logger.ts'
import type { Store } from '../../store/client.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { startSignalbox, type TestSignalbox } from './signalbox.ts'

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

/** A config dir with the shipped flows and the given slos.yaml and alerts.yaml (and catalog.yaml). */
export function configDir(slos: string, alerts: string, catalog?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'signalbox-alerts-'))
  copyFileSync(join(import.meta.dirname, '../../config/flows.yaml'), join(dir, 'flows.yaml'))
  writeFileSync(join(dir, 'slos.yaml'), slos)
  writeFileSync(join(dir, 'alerts.yaml'), alerts)
  if (catalog !== undefined) writeFileSync(join(dir, 'catalog.yaml'), catalog)
  return dir
}

export interface Received {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** A local HTTP receiver standing in for a webhook endpoint, Slack and PagerDuty; answers as told. */
export async function startReceiver() {
  const received: Received[] = []
  const answers: number[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body })
      res.writeHead(answers.shift() ?? 200).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    received,
    /** The next answers, in order (then 200). */
    answer: (...statuses: number[]) => answers.push(...statuses),
    json: (path: string) => received.filter((r) => r.path === path).map((r) => JSON.parse(r.body)),
    clear: () => received.splice(0),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** Evaluation deps on a test store, with a clock the test moves. */
export function evaluator(
  store: Store,
  dir: string,
  env: Record<string, string>,
  holder = 'test',
  log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
) {
  const flows = loadFlows(dir)
  const clock = { now: 0 }
  const catalog = loadCatalog(dir, flows)
  const deps: EvaluatorDeps = {
    store,
    flows,
    catalog,
    slos: loadSlos(dir, flows, catalog),
    alerting: loadAlerting(dir, flows),
    log,
    env,
    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    publicUrl: 'http://signalbox.test',
    holder,
    clock: () => clock.now,
  }
  return {
    deps,
    clock,
    at: (ms: number) => {
      clock.now = ms
      return evaluate(deps, 60_000)
    },
  }
}

/**
 * Sync runs of a connector, one every `everyMs` in [fromMs, toMs), written in the engine. Every
 * `failEvery`-th run fails (1: all, 0: none).
 */
export async function seedRuns(
  store: Store,
  connector: string,
  fromMs: number,
  toMs: number,
  everyMs: number,
  failEvery: number,
) {
  const n = Math.floor((toMs - fromMs) / everyMs)
  await store.command(sql`
    INSERT INTO ${table(TABLES.spans)} (timestamp, trace_id, span_id, name, kind, service_name, status_code, connector, duration_ns)
    SELECT fromUnixTimestamp64Milli(toInt64(${fromMs} + number * ${everyMs})), hex(rand64()), hex(rand64()),
      'sync order_to_cash.post_to_erp', 'consumer', ${connector}, if(${failEvery} > 0 AND number % ${failEvery} = 0, 'error', 'ok'),
      ${connector}, 1000000
    FROM numbers(${n})`)
}

export interface AlertingFixture {
  readonly sb: TestSignalbox
  readonly receiver: Awaited<ReturnType<typeof startReceiver>>
  /** Two whole hours ago: spans inside retention, windows exact. Test clocks count from here. */
  readonly t0: number
}

/** Signalbox and a notification receiver for one test file. Read the fixture inside tests. */
export function useAlerting(): AlertingFixture {
  const fixture = {} as { sb: TestSignalbox; receiver: Awaited<ReturnType<typeof startReceiver>>; t0: number }
  beforeAll(async () => {
    fixture.sb = await startSignalbox()
    fixture.receiver = await startReceiver()
    fixture.t0 = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR
  })
  afterAll(async () => {
    await fixture.receiver?.close()
    await fixture.sb?.close()
  })
  return fixture
}
