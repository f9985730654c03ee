import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEMO_BATCH_JOBS } from '../../connectors/estate/batches.ts'
import { DEMO_BUSINESS_DAYS } from '../../connectors/estate/previous-day.ts'
import { loadBatches } from '../../core/batches.ts'
import { loadConfig } from '../../core/config.ts'
import { loadFlows } from '../../core/flows.ts'

const config = join(import.meta.dirname, '../../config')
const demo = join(config, 'demo')
const yaml = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml'))

describe('the demo’s configuration (config/demo)', () => {
  it('is config/ file for file, but for the flows and the batch schedules', () => {
    expect(yaml(demo).sort()).toEqual(yaml(config).sort())
    for (const f of yaml(config).filter((f) => f !== 'flows.yaml' && f !== 'batches.yaml'))
      expect(readFileSync(join(demo, f), 'utf8'), `config/demo/${f}`).toBe(
        readFileSync(join(config, f), 'utf8'),
      )
  })

  it('has the same flows and stages, with the warehouse’s and carriers’ delays in minutes instead of days, prices due on the channels in 2 minutes, and suppliers in minutes', () => {
    const shipped = loadFlows(config)
    const scaled = loadFlows(demo)
    const shape = (flows: typeof shipped) =>
      [...flows.values()].map((f) => ({ ...f, stages: f.stages.map(({ maxDelayMs: _, ...s }) => s) }))
    expect(shape(scaled)).toEqual(shape(shipped))
    const delays = (flows: typeof shipped) =>
      Object.fromEntries(
        [...flows.values()].flatMap((f) => f.stages.map((s) => [`${f.name}.${s.name}`, s.maxDelayMs])),
      )
    const changed = Object.entries(delays(scaled)).filter(([k, ms]) => delays(shipped)[k] !== ms)
    expect(Object.fromEntries(changed)).toEqual({
      'order_to_cash.fulfilled': 2 * 60_000,
      'order_to_cash.delivered': 5 * 60_000,
      'order_to_cash.invoiced': 10 * 60_000,
      'price_sync.published': 2 * 60_000,
      'procure_to_receive.acknowledged': 2 * 60_000,
      'procure_to_receive.shipped': 5 * 60_000,
      'procure_to_receive.received': 5 * 60_000,
      'procure_to_receive.matched': 5 * 60_000,
    })
  })

  it('has the same batch jobs, on the schedules the demo estate runs them on', () => {
    const shipped = loadBatches(config)
    const scaled = loadBatches(demo)
    const shape = (b: typeof shipped) => [...b.jobs.values()].map(({ schedule: _, graceMs: __, ...j }) => j)
    expect(shape(scaled)).toEqual(shape(shipped))
    expect({ ...scaled, jobs: undefined }).toEqual({ ...shipped, jobs: undefined })
    expect(Object.fromEntries([...scaled.jobs.values()].map((j) => [j.name, j.schedule]))).toEqual(
      Object.fromEntries(DEMO_BATCH_JOBS.map((j) => [j.name, j.schedule])),
    )
    // The demo tells its previous business day as these close (estate/previous-day.ts).
    expect({ timezone: scaled.timezone, dayClosesAfterMs: scaled.dayClosesAfterMs }).toEqual(
      DEMO_BUSINESS_DAYS,
    )
  })

  it('is what the all-in-one reads when the demo runs and SIGNALBOX_CONFIG_DIR is not set', () => {
    const env = { SIGNALBOX_HTTP_PORT: '0' }
    expect(loadConfig(env, { readDotEnv: false, demo: true }).configDir).toMatch(/config\/demo$/)
    expect(loadConfig(env, { readDotEnv: false }).configDir).toMatch(/config$/)
    expect(
      loadConfig({ ...env, SIGNALBOX_CONFIG_DIR: '/etc/signalbox' }, { readDotEnv: false, demo: true })
        .configDir,
    ).toBe('/etc/signalbox')
  })
})
