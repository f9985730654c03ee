import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendEvents } from '../support/events.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { closeAll, DESKTOP, launchBrowser, newPage, screenshotDir } from './browser.ts'

/*
 * The Purchase orders page in a real browser: the receipt discrepancies across purchase orders, and
 * from there a purchase order's lifecycle with its goods receipt line by line.
 */

// The scratch folder unless `npm run screenshots` retakes the README's pictures.
const SCREENSHOTS = screenshotDir()
let sb: TestSignalbox
let browser: Browser
let page: Page

let n = 0
const po = (stage: string, id: string, at: number, system: string, data: object = {}) => ({
  specversion: '1.0',
  id: `po-e2e-${n++}`,
  source: 'urn:e2e:procurement',
  type: `retail.purchase_order.${stage}`,
  subject: id,
  time: new Date(at).toISOString(),
  system,
  data,
})

beforeAll(async () => {
  sb = await startSignalbox()
  const t = Date.now() - 30 * 60_000
  const lines = [
    { sku: 'SKU-E2E-A', ordered: 24, shipped: 24, received: 20, unitCost: 3.5 },
    { sku: 'SKU-E2E-B', ordered: 12, shipped: 12, received: 12, unitCost: 8 },
    { sku: 'SKU-E2E-SUB', ordered: 0, shipped: 0, received: 6, unitCost: null },
  ]
  await sendEvents(sb.collectorUrl, [
    po('created', 'PO-E2E-1', t, 'erp', { supplier: 'ACME-HOME', location: 'DC-NORTH' }),
    po('sent', 'PO-E2E-1', t + 60_000, 'supplier-portal'),
    po('acknowledged', 'PO-E2E-1', t + 120_000, 'supplier-portal'),
    po('shipped', 'PO-E2E-1', t + 180_000, 'supplier-portal', { asn: 'ASN-E2E-1' }),
    po('received', 'PO-E2E-1', t + 240_000, 'wms', {
      receipt: 'GR-E2E-1',
      supplier: 'ACME-HOME',
      location: 'DC-NORTH',
      asn: 'ASN-E2E-1',
      currency: 'GBP',
      lines,
    }),
  ])
  browser = await launchBrowser()
  ;({ page } = await newPage(browser, DESKTOP))
})

afterAll(() => closeAll(browser, sb))

describe('the Purchase orders page, in a real browser', () => {
  it('lists receipt discrepancies and opens a purchase order’s lifecycle with its receipt line by line', async () => {
    await page.goto(`${sb.apiUrl}/`)
    await page
      .getByRole('navigation', { name: 'Pages' })
      .getByRole('link', { name: 'Purchase orders' })
      .click()
    await page.waitForURL('**/#/purchase-orders')
    const list = page.getByTestId('receipt-discrepancies')
    const short = list.locator('tbody tr', { hasText: 'SKU-E2E-A' })
    await short.waitFor()
    expect(await short.textContent()).toContain('short (-4)')
    expect(await short.textContent()).toContain('-14.00 GBP')
    expect(await list.locator('tbody tr', { hasText: 'SKU-E2E-SUB' }).textContent()).toContain('wrong item')
    expect(await list.locator('tbody tr').count()).toBe(2)
    // Narrowed to one kind through the page's links (and its URL).
    await list.getByRole('link', { name: 'wrong item' }).click()
    await page.waitForURL('**/#/purchase-orders/wrong_item')
    await expect.poll(() => list.locator('tbody tr').count()).toBe(1)
    await page.getByRole('link', { name: 'all' }).click()
    await short.waitFor()
    await page.screenshot({ path: join(SCREENSHOTS, 'purchase-orders.png'), fullPage: true })

    await short.getByRole('link', { name: 'PO-E2E-1' }).click()
    await page.waitForURL('**/#/entities/purchase_order/PO-E2E-1')
    expect(await page.locator('main h1').textContent()).toBe('Purchase order PO-E2E-1')
    const receipt = page.getByTestId('receipt')
    await receipt.waitFor()
    expect(await receipt.locator('h2').textContent()).toContain('2 receipt discrepancies')
    const rows = receipt.locator('[data-testid="receipt-lines"] tbody tr')
    expect(await rows.count()).toBe(3)
    expect(await rows.nth(1).textContent()).toContain('✓')
    expect(await page.getByTestId('stage').count()).toBe(7)
    expect(
      await page.getByTestId('stage').evaluateAll((s) => s.map((e) => e.getAttribute('data-status'))),
    ).toEqual(['done', 'done', 'done', 'done', 'done', 'pending', 'pending'])
  })

  it('opens a purchase order typed into the page', async () => {
    await page.goto(`${sb.apiUrl}/#/purchase-orders`)
    await page.getByLabel('Purchase order', { exact: true }).fill('PO-E2E-1')
    await page.getByRole('button', { name: 'Open' }).click()
    await page.waitForURL('**/#/entities/purchase_order/PO-E2E-1')
    await page.getByTestId('receipt').waitFor()
  })
})
