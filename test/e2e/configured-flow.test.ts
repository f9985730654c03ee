import { rmSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configWithTransferFlow, transferEvent } from '../support/configured-flow.ts'
import { sendEvents } from '../support/events.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { closeAll, DESKTOP, launchBrowser, newPage } from './browser.ts'

/*
 * The UI is built from the configured flows: a flow added in a copy of config/ (store_transfer,
 * following transfer orders) is in the navigation and on the overview with its stages, and its
 * entities have a page, with no change to the web app.
 */

let sb: TestSignalbox
let configDir: string
let browser: Browser
let page: Page
const HOUR = 3_600_000

beforeAll(async () => {
  configDir = configWithTransferFlow()
  sb = await startSignalbox({ SIGNALBOX_CONFIG_DIR: configDir })
  const t = Date.now() - 30 * 60_000
  await sendEvents(sb.collectorUrl, [
    transferEvent('created', 'TO-E2E-1', t, { system: 'erp' }),
    transferEvent('sent', 'TO-E2E-1', t + 60_000, { system: 'supplier-portal' }),
    transferEvent('created', 'TO-E2E-2', t - 2 * HOUR, { system: 'erp' }),
  ])
  browser = await launchBrowser()
  ;({ page } = await newPage(browser, DESKTOP))
})

afterAll(async () => {
  await closeAll(browser, sb)
  rmSync(configDir, { recursive: true, force: true })
})

describe('a flow added in configuration, in a real browser', () => {
  it('shows the flow in the navigation and on the overview with its stages, and an entity page for its entities', async () => {
    await page.goto(`${sb.apiUrl}/`)
    const nav = page.getByRole('navigation', { name: 'Flows' })
    const link = nav.getByRole('link', { name: 'Store transfer' })
    await link.waitFor()
    expect(await link.getAttribute('title')).toBe('Transfer orders: created → sent')
    // The overview: a panel of the flow, its stages with how many reached each.
    const panel = page.getByTestId('panel-flow-store_transfer')
    const rows = panel.locator('[data-testid="flow-stages"] tbody tr')
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2)
    expect(await rows.locator('td:first-child').allTextContents()).toEqual(['created', 'sent'])
    expect(await rows.nth(0).locator('td').nth(1).textContent()).toBe('1')
    expect(await panel.locator('.kpi').textContent()).toContain('1 completed')
    // The flow's page, from the navigation.
    await link.click()
    await page.waitForURL('**/#/flows/store_transfer')
    await expect.poll(() => page.getByTestId('flow-stages').textContent()).toContain('created → sent')
    const stuck = page.locator('[data-testid="stuck-list"] tr', { hasText: 'TO-E2E-2' })
    await stuck.waitFor()
    // The entity page: from the stuck list, and from the search box.
    await stuck.getByRole('link').click()
    await page.waitForURL('**/#/entities/transfer_order/TO-E2E-2')
    await expect.poll(() => page.getByTestId('entity-status').textContent()).toContain('stuck')
    await page.getByTestId('search-input').fill('TO-E2E-1')
    await page.getByTestId('search-input').press('Enter')
    await page.waitForURL('**/#/entities/transfer_order/TO-E2E-1')
    expect(await page.locator('main h1').textContent()).toBe('Transfer order TO-E2E-1')
    await expect.poll(() => page.getByTestId('stage').count()).toBe(2)
    expect(
      await page.getByTestId('stage').evaluateAll((s) => s.map((e) => e.getAttribute('data-status'))),
    ).toEqual(['done', 'done'])
    expect(await page.getByTestId('entity-status').textContent()).toContain('completed')
    expect(await page.locator('[data-testid="timeline"] tbody tr').count()).toBe(2)
  })
})
