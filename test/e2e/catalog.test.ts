import { AxeBuilder } from '@axe-core/playwright'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedGovernance } from '../support/catalog.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { closeAll, launchBrowser, newPage } from './browser.ts'

/*
 * The Catalog page on the shipped catalog.yaml: each integration with its owner, tier and last
 * change, and a service nobody catalogued listed as unowned.
 */

let sb: TestSignalbox
let browser: Browser
let page: Page

beforeAll(async () => {
  sb = await startSignalbox()
  await seedGovernance(sb.collectorUrl, Math.floor(Date.now() / 60_000) * 60_000 - 40 * 60_000)
  browser = await launchBrowser()
  // A context of its own: the accessibility check needs one.
  ;({ page } = await newPage(browser, { width: 1400, height: 900 }))
})

afterAll(() => closeAll(browser, sb))

describe('the Catalog page, in a real browser', () => {
  it('shows each integration with owner, tier and last change, the unowned ones, and an entry’s changes', async () => {
    await page.goto(`${sb.apiUrl}/`)
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Catalog' }).click()
    await page.waitForURL('**/#/catalog')
    const row = page.locator('[data-testid="catalog"] tr[data-integration="order-to-cash"]')
    await row.waitFor()
    const cells = await row.locator('td').allTextContents()
    expect(cells.slice(0, 6)).toEqual([
      'Order to cash',
      'commerce',
      'order',
      '1',
      'real time',
      'orchestration',
    ])
    expect(await row.getByTestId('last-change').textContent()).toMatch(/^1\.1\.0 at /)
    expect(await row.getByTestId('volume').textContent()).toMatch(/^2 \/ 9,?000 sync runs/)
    expect(await page.locator('[data-testid="catalog"] tbody tr').count()).toBe(6)
    // What telemetry shows but nobody owns; the ERP is a known system, so it is not listed.
    const unowned = page.getByTestId('unowned')
    expect(await unowned.locator('tr[data-unowned="loyalty-export"] td').first().textContent()).toBe(
      'service',
    )
    expect(await unowned.locator('tr[data-unowned="erp"]').count()).toBe(0)
    // Readable by everyone: no serious or critical accessibility violation on the page.
    const axe = await new AxeBuilder({ page: page as never }).analyze()
    expect(
      axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id),
    ).toEqual([])
    // One entry: what a failure costs, and its changes.
    await row.getByRole('link', { name: 'Order to cash' }).click()
    await page.waitForURL('**/#/catalog/order-to-cash')
    const detail = page.getByTestId('catalog-detail')
    await detail.waitFor()
    expect(await detail.textContent()).toContain('revenue is not booked')
    expect(await detail.locator('[data-testid="catalog-changes"] tbody td').allTextContents()).toEqual(
      expect.arrayContaining(['1.1.0', '1.0.0', 'service.version']),
    )
  })

  it('draws the change on the charts of an SLO that depends on the integration', async () => {
    await page.goto(`${sb.apiUrl}/#/slos/order_sync_success`)
    const change = page.getByTestId('slo-burndown').getByTestId('chart-change')
    await expect.poll(() => change.count(), { timeout: 20_000 }).toBe(1)
    expect(await change.locator('td').nth(2).textContent()).toBe('order-to-cash 1.1.0')
  })
})
