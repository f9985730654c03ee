import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { run } from '../../cli/runtime.ts'
import { loadConfig } from '../../core/config.ts'
import { createLogger } from '../../core/logger.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { configDir } from '../support/alerting.ts'

const log = createLogger('silent')
/** The evaluator claims a lease term before each evaluation: a claim shows it evaluates. */
const leaseClaims = sql`SELECT toString(count()) AS n FROM ${table(TABLES.leases)} WHERE name = 'alerts'`
const slos = `
metered:
  description: Metered sync runs succeed
  sli: { connector_success: { connector: metered } }
  objective: 0.99
`
const alerts =
  'evaluation: { interval: 1s }\nroute: { receiver: r }\nreceivers: { r: [{ webhook: { url: "http://127.0.0.1:9/hook" } }] }\n'

describe('the evaluator on its own', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  it('serves its own /metrics: its ticks and the process', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-evaluator-'))
    dirs.push(dataDir)
    const config = loadConfig(
      {
        SIGNALBOX_DATA_DIR: dataDir,
        SIGNALBOX_CONFIG_DIR: configDir(slos, alerts),
        SIGNALBOX_ALERTS_METRICS_PORT: '0',
      },
      { readDotEnv: false },
    )
    const running = await run(['alerts'], config, log)
    try {
      const url = `http://127.0.0.1:${running.alertsMetricsPort}/metrics`
      const leading = /signalbox_alerts_evaluations_total\{outcome="leader"\} [1-9]/
      await expect.poll(async () => (await fetch(url)).text(), { timeout: 30_000 }).toMatch(leading)
      const text = await (await fetch(url)).text()
      expect(text).toContain('signalbox_alerts_evaluation_duration_seconds_count')
      expect(text).toContain('# TYPE signalbox_process_resident_memory_bytes gauge')
    } finally {
      await running.stop()
    }
  })

  it('evaluates without its /metrics when the port is taken (a second evaluator on the host)', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-evaluator-'))
    dirs.push(dataDir)
    const config = loadConfig(
      {
        SIGNALBOX_DATA_DIR: dataDir,
        SIGNALBOX_CONFIG_DIR: configDir(slos, alerts),
        SIGNALBOX_ALERTS_METRICS_PORT: String((taken.address() as AddressInfo).port),
      },
      { readDotEnv: false },
    )
    const running = await run(['alerts'], config, log)
    try {
      expect(running.alertsMetricsPort).toBeUndefined()
      await expect
        .poll(async () => (await running.store.query<{ n: string }>(leaseClaims)).at(0)?.n, {
          timeout: 30_000,
        })
        .not.toBe('0')
    } finally {
      await running.stop()
      taken.close()
    }
  })
})
