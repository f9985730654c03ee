import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cloudEvent, configWithBatches } from '../support/batches.ts'
import { sendEvents } from '../support/events.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { closeAll, DESKTOP, launchBrowser, newPage, screenshotDir } from './browser.ts'

/*
 * The Batches page lists every job with its state (a missed run among them) and a job's runs; a run's
 * business day opens the Reconciliation page for that day, whose unmatched orders open their lifecycles.
 */

const HOUR = 3_600_000
const dayStart = Date.parse(new Date(Date.now() - 3 * 24 * HOUR).toISOString().slice(0, 10))
const DAY = new Date(dayStart).toISOString().slice(0, 10)
const at = (hours: number) => dayStart + hours * HOUR
const configDir = configWithBatches(`
timezone: UTC
jobs:
  store-sales-posting.STORE-E2E: { schedule: "* * * * *", grace: 1h, system: pos }
  erp-daily-export: { schedule: "* * * * *", grace: 10m, system: erp }
`)
const batch = (type: string, runId: string, ms: number, data: Record<string, unknown>) =>
  cloudEvent(`retail.batch.${type}`, runId, ms, {
    job: 'store-sales-posting.STORE-E2E',
    runId,
    businessDay: DAY,
    ...data,
  })

let sb: TestSignalbox
let browser: Browser
let page: Page

beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_CONFIG_DIR: configDir })
  const now = Date.now()
  await sendEvents(sb.collectorUrl, [
    batch('started', 'RUN-E2E-1', now - 10 * 60_000, { rows: 0, rejected: 0 }),
    batch('failed', 'RUN-E2E-1', now - 9 * 60_000, { rows: 0, rejected: 3, error: 'ERP unavailable' }),
    cloudEvent('retail.order.created', 'SO-E2E-1', at(10), { channel: 'pos', total: 12.5, currency: 'GBP' }),
    cloudEvent('retail.order.created', 'SO-E2E-2', at(11), { channel: 'pos', total: 30, currency: 'EUR' }),
    cloudEvent('retail.order.erp_posted', 'SO-E2E-2', at(12), { total: 30, currency: 'EUR' }),
  ])
  browser = await launchBrowser()
  // A context of its own: axe analyses pages it opens in one.
  ;({ page } = await newPage(browser, DESKTOP))
})

afterAll(async () => {
  await closeAll(browser, sb)
  rmSync(configDir, { recursive: true, force: true })
})

const violations = async () =>
  (await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze()).violations.map(
    (v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  )

describe('the Batches and Reconciliation pages, in a real browser', () => {
  it('shows each job’s state, a missed run and a failed run, and a job’s runs', async () => {
    await page.goto(`${sb.apiUrl}/`)
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Batches' }).click()
    await page.waitForURL('**/#/batches')
    const jobs = page.getByTestId('batch-jobs')
    await jobs.waitFor()
    const posting = jobs.locator('tr[data-job="store-sales-posting.STORE-E2E"]')
    expect(await posting.getAttribute('data-state')).toBe('failed')
    expect(await posting.textContent()).toContain('last run failed')
    const exporting = jobs.locator('tr[data-job="erp-daily-export"]')
    expect(await exporting.getAttribute('data-state')).toBe('missed')
    expect(await exporting.textContent()).toContain('missed its run')
    await posting.getByRole('link', { name: 'store-sales-posting.STORE-E2E' }).click()
    const run = page.locator('[data-testid="batch-runs"] tr[data-run="RUN-E2E-1"]')
    await run.waitFor()
    expect(await run.getAttribute('data-status')).toBe('failed')
    expect(await run.textContent()).toContain('ERP unavailable')
    expect(await violations()).toEqual([])
  })

  it('opens the business day’s reconciliation from a run, per currency, with the unmatched order linked', async () => {
    await page
      .locator('[data-testid="batch-runs"] tr[data-run="RUN-E2E-1"]')
      .getByRole('link', { name: DAY })
      .click()
    await page.waitForURL(`**/#/reconciliation?day=${DAY}`)
    const table = page.getByTestId('reconciliation')
    await table.waitFor()
    const captured = table.locator('tr', { hasText: 'orders captured' })
    // Two currencies, two lines: never one sum.
    expect(await captured.locator('td').first().textContent()).toBe('1 · 30.00 EUR\n1 · 12.50 GBP')
    expect(await page.getByTestId('unmatched-total').textContent()).toBe('1')
    expect(await page.getByTestId('day-state').textContent()).toContain('closed')
    const unmatched = page.locator('[data-testid="unmatched"] tr[data-entity="SO-E2E-1"]')
    expect(await unmatched.getAttribute('data-reason')).toBe('not_posted')
    expect(await violations()).toEqual([])
    await page.screenshot({ path: join(screenshotDir(), 'reconciliation.png'), fullPage: true })
    await unmatched.getByRole('link', { name: 'order SO-E2E-1' }).click()
    await page.waitForURL('**/#/orders/SO-E2E-1')
  })
})
