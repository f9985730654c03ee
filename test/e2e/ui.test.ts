import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Demo } from '../../connectors/demo.ts'
import { sendEvents } from '../support/events.ts'
import type { TestSignalbox } from '../support/signalbox.ts'
import {
  closeAll,
  cloudEvents,
  DESKTOP,
  drawn,
  evaluateAlerts,
  failAtErp,
  inventoryDrift,
  launchBrowser,
  newPage,
  openPage,
  placePostedOrders,
  screenshotDir,
  stalePrice,
  startEstate,
} from './browser.ts'

// A scratch folder, so a test run leaves the committed README pictures alone: `npm run screenshots`
// points this at docs/screenshots to retake them.
const SCREENSHOTS = screenshotDir()
const HOUR = 3_600_000

let sb: TestSignalbox
let demo: Demo
let browser: Browser
let page: Page
let orderIds: string[] = []
let failedOrderId = ''
const ev = cloudEvents('e2e')

beforeAll(async () => {
  ;({ sb, demo } = await startEstate())
  // Real orders through the demo's connectors, and the ERP posting of each awaited.
  orderIds = (await placePostedOrders({ sb, demo }, 6)).ids
  // An order the ERP refused during an outage: an open exception to replay from the order page.
  ;[failedOrderId = ''] = await failAtErp({ sb, demo }, 1)
  // An order that stopped before the ERP two hours ago (stuck), and a SKU a channel was told too much.
  const t = Date.now() - 2 * HOUR
  await sendEvents(sb.collectorUrl, [
    ev('retail.order.created', 'SO-E2E-STUCK', t, { data: { channel: 'web' } }),
    ev('retail.order.payment_authorized', 'SO-E2E-STUCK', t + 60_000),
    ev('retail.order.inventory_reserved', 'SO-E2E-STUCK', t + 120_000),
    // A second stuck order, from another channel, for the stuck list's channel filter.
    ev('retail.order.created', 'SO-E2E-LATE-POS', t, { data: { channel: 'pos' } }),
    ev('retail.order.payment_authorized', 'SO-E2E-LATE-POS', t + 60_000),
    ...inventoryDrift(ev, 'SKU-E2E-1', t),
    // A price the marketplace never took: a stale price past the deadline, beside two channels in step.
    ...stalePrice(ev, 'SKU-E2E-PRICE', t),
  ])
  browser = await launchBrowser()
  ;({ page } = await newPage(browser, DESKTOP))
})

afterAll(() => closeAll(browser, demo, sb))

const drawnPixels = (testId: string) => drawn(page, testId)

describe('the web UI in a real browser', () => {
  it('loads the overview with its charts drawn from data', async () => {
    await page.goto(`${sb.apiUrl}/`)
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    for (const panel of ['panel-throughput', 'panel-funnel', 'panel-stuck']) {
      await page.locator(`[data-testid="${panel}"] .chart svg`).first().waitFor({ timeout: 20_000 })
      await expect.poll(() => drawnPixels(panel), { timeout: 10_000 }).toBeGreaterThan(500)
    }
    await expect.poll(() => page.locator('[data-testid="panel-throughput"] .state').count()).toBe(0)
    await expect.poll(() => page.locator('[aria-busy="true"]').count(), { timeout: 20_000 }).toBe(0)
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true })
  })

  it('drills from a chart point into the orders behind it, from the keyboard', async () => {
    const panel = page.getByTestId('panel-throughput')
    const table = panel.locator('details.chart-data')
    await table.locator('summary').focus()
    await page.keyboard.press('Enter')
    const open = table.getByRole('button', { name: 'Open' }).first()
    const channel = await table.locator('tbody tr').first().locator('td').first().textContent()
    await open.focus()
    await page.keyboard.press('Enter')
    await page.waitForURL('**/#/drill/order_to_cash/captured?*')
    const rows = page.locator('[data-testid="drill-list"] tbody tr')
    await expect.poll(() => rows.count()).toBeGreaterThan(0)
    // Every order listed came in through the channel of the bar.
    const channels = await rows.locator('td:nth-child(6)').allTextContents()
    expect(new Set(channels)).toEqual(new Set([channel]))
    await rows.first().getByRole('link').click()
    await page.waitForURL('**/#/orders/*')
    await expect.poll(() => page.getByTestId('stage').count(), { timeout: 20_000 }).toBe(7)
  })

  it('finds an order from the search box and shows its stages and timeline', async () => {
    const id = orderIds[5] as string
    await page.getByTestId('search-input').fill(id)
    await page.getByTestId('search-input').press('Enter')
    await page.waitForURL(`**/#/orders/${id}`)
    await expect.poll(() => page.getByTestId('stage').count(), { timeout: 20_000 }).toBe(7)
    const erp = page.locator('[data-testid="stage"]', { hasText: 'erp posted' })
    expect(await erp.getAttribute('data-status')).toBe('done')
    await expect.poll(() => page.locator('[data-testid="timeline"] tbody tr').count()).toBeGreaterThan(4)
    expect(await page.getByTestId('headline').textContent()).toMatch(/In progress|Completed/)
    // The swimlanes: the stages across systems over time, drawn.
    await page.locator('[data-testid="swimlanes"] .chart svg').first().waitFor()
    await expect.poll(() => drawnPixels('swimlanes'), { timeout: 10_000 }).toBeGreaterThan(500)
    await expect.poll(() => page.locator('[aria-busy="true"]').count(), { timeout: 20_000 }).toBe(0)
    await page.screenshot({ path: join(SCREENSHOTS, 'order.png'), fullPage: true })
  })

  it('opens a trace as a waterfall with span details', async () => {
    // The ERP posting's trace: the connector's sync and client spans, and the ERP's own server span.
    await page
      .locator('[data-testid="timeline"] tr', { hasText: 'post_sales_order' })
      .getByRole('link')
      .first()
      .click()
    await page.getByTestId('span-row').first().waitFor()
    expect(await page.getByTestId('span-row').count()).toBeGreaterThan(1)
    await page.getByTestId('span-row').first().getByRole('button').click()
    await page.getByTestId('span-details').waitFor()
    expect(await page.getByTestId('span-details').textContent()).toContain('integration.')
  })

  it('shows an inventory item with drift and oversell risk', async () => {
    await page.goto(`${sb.apiUrl}/#/inventory/SKU-E2E-1`)
    const risky = page.locator('[data-testid="channels"] tr', { hasText: 'marketplace' })
    await risky.waitFor()
    expect(await risky.textContent()).toContain('+30 units')
    expect(await risky.textContent()).toContain('oversell risk')
    const fine = page.locator('[data-testid="channels"] tr', { hasText: 'storefront' })
    expect(await fine.textContent()).toContain('in sync')
  })

  it('shows a SKU’s price on every channel side by side, and its conflict in the list across SKUs', async () => {
    await page.goto(`${sb.apiUrl}/#/prices/SKU-E2E-PRICE`)
    const stale = page.locator('[data-testid="price-channels"] tr', { hasText: 'marketplace' })
    await stale.waitFor()
    expect(await stale.textContent()).toContain('30.00')
    expect(await stale.textContent()).toContain('stale price')
    for (const channel of ['storefront', 'pos']) {
      const row = page.locator('[data-testid="price-channels"] tr', { hasText: channel })
      expect(await row.textContent()).toContain('in step')
    }
    const listed = page.locator('[data-testid="price-conflicts"] tr', { hasText: 'SKU-E2E-PRICE' })
    await listed.waitFor()
    expect(await listed.textContent()).toContain('marketplace')
    await page.getByRole('link', { name: 'Prices' }).click()
    await page.getByLabel('SKU', { exact: true }).fill('SKU-E2E-PRICE')
    await page.getByRole('button', { name: 'Open' }).click()
    await page.waitForURL(/#\/prices\/SKU-E2E-PRICE$/)
    await page.locator('[data-testid="price-list"] .chart svg').first().waitFor()
    await expect.poll(() => page.locator('[aria-busy="true"]').count(), { timeout: 20_000 }).toBe(0)
    await page.screenshot({ path: join(SCREENSHOTS, 'prices.png'), fullPage: true })
  })

  it('finds the stuck order from the flows page and opens it', async () => {
    await page.goto(`${sb.apiUrl}/#/flows/order_to_cash`)
    const row = page.locator('[data-testid="stuck-list"] tr', { hasText: 'SO-E2E-STUCK' })
    await row.waitFor()
    expect(await row.textContent()).toContain('erp_posted')
    // Narrowed to another channel it goes, and the other channel's order stays; to its own, it is back.
    const pos = page.locator('[data-testid="stuck-list"] tr', { hasText: 'SO-E2E-LATE-POS' })
    await page.getByTestId('stuck-channel').selectOption('pos')
    await row.waitFor({ state: 'detached' })
    await pos.waitFor()
    await page.getByTestId('stuck-channel').selectOption('web')
    await row.waitFor()
    await pos.waitFor({ state: 'detached' })
    await row.getByRole('link').click()
    await page.waitForURL('**/#/orders/SO-E2E-STUCK')
    await expect.poll(() => page.getByTestId('entity-status').textContent()).toContain('stuck')
  })

  it('shows SLOs on the overview, an SLO with what burned its budget, and acknowledges its alert', async () => {
    // The stuck order missed its hour to the ERP: the shipped order_reaches_erp SLO is overspent, and
    // one evaluation with the shipped rules opens its ticket.
    await evaluateAlerts(sb)
    await page.goto(`${sb.apiUrl}/`)
    const chip = page.locator('[data-testid="slo-strip"] a', { hasText: 'order_reaches_erp' })
    await chip.waitFor()
    expect(await chip.textContent()).toContain('burning')
    await chip.click()
    await page.waitForURL('**/#/slos/order_reaches_erp')
    await page.locator('[data-testid="slo-burndown"] .chart svg').first().waitFor()
    await expect.poll(() => drawnPixels('slo-burndown'), { timeout: 10_000 }).toBeGreaterThan(500)
    const burned = page.locator('tr', { hasText: 'SO-E2E-STUCK' })
    await burned.waitFor()
    expect(await burned.textContent()).toMatch(/order SO-E2E-STUCK.*h/)
    await expect.poll(() => page.locator('[aria-busy="true"]').count(), { timeout: 20_000 }).toBe(0)
    await page.screenshot({ path: join(SCREENSHOTS, 'slo.png'), fullPage: true })

    await page.goto(`${sb.apiUrl}/#/alerts`)
    const row = page.locator('[data-testid="active-alerts"] tr', { hasText: 'order_reaches_erp' })
    await row.waitFor()
    expect(await row.textContent()).toContain('firing')
    await page.getByLabel('Your name, recorded on acknowledgements, silences and replays').fill('e2e@oncall')
    await row.getByRole('button', { name: 'Acknowledge' }).click()
    await expect.poll(() => row.textContent()).toContain('ack e2e@oncall')
    await page.screenshot({ path: join(SCREENSHOTS, 'alerts.png'), fullPage: true })
  })

  it('replays a failed ERP posting from the order page and shows the stage completed by the replay', async () => {
    await page.goto(`${sb.apiUrl}/#/orders/${failedOrderId}`)
    const erp = page.locator('[data-testid="stage"]', { hasText: 'erp posted' })
    await erp.waitFor()
    expect(await erp.getAttribute('data-status')).not.toBe('done')
    await page
      .getByLabel('Your name, recorded on acknowledgements, silences and replays')
      .fill('support@example.com')
    await page.getByTestId('replay-exception').click()
    await expect
      .poll(() => page.getByTestId('replay-message').textContent(), { timeout: 20_000 })
      .toContain('✓ Succeeded: replayed')
    await expect.poll(() => erp.getAttribute('data-status')).toBe('done')
    expect(await erp.textContent()).toContain('by replay')
    await page.screenshot({ path: join(SCREENSHOTS, 'replayed.png'), fullPage: true })

    // The exceptions page and the audit trail show it too.
    await page.goto(`${sb.apiUrl}/#/replays`)
    const row = page.locator('[data-testid="replays"] tr', { hasText: failedOrderId })
    await row.waitFor()
    expect(await row.textContent()).toContain('support@example.com')
    expect(await row.textContent()).toContain('succeeded')
  })

  it("shows whether each connector's callback answers, and never calls a dead one healthy", async () => {
    // A connector whose callback is gone (nothing listens on port 9).
    const registered = await fetch(`${sb.apiUrl}/api/connectors`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'gone-connector',
        system: 'erp',
        flows: [],
        callbackUrl: 'http://127.0.0.1:9/callbacks',
      }),
    })
    expect(registered.status).toBe(201)
    await page.goto(`${sb.apiUrl}/#/connectors`)
    const live = page.locator('[data-testid="connectors"] tr[data-connector="order-to-cash"]')
    await live.waitFor()
    expect(await live.getByTestId('callback').getAttribute('data-status')).toBe('answering')
    expect(await live.textContent()).toContain('✓ answering')
    // Probed now from the page: the dead one says why, and its health says so whatever its runs.
    const gone = page.locator('[data-testid="connectors"] tr[data-connector="gone-connector"]')
    await gone.getByRole('button', { name: 'Probe now' }).click()
    await expect.poll(() => gone.getByTestId('callback').getAttribute('data-status')).toBe('not_answering')
    expect(await gone.textContent()).toContain('could not be reached')
    expect(await gone.textContent()).toContain('✕ callback down')
    expect(await gone.textContent()).not.toContain('healthy')
    expect(await page.getByRole('status').textContent()).toContain('gone-connector: ✕ not answering')
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }))
    expect(scroll).toBeLessThanOrEqual(client)
    // Taken out of service: removed from the page, after a second click that names it.
    await gone.getByRole('button', { name: 'Remove…' }).click()
    await gone.getByRole('button', { name: 'Remove gone-connector' }).click()
    await gone.waitFor({ state: 'detached' })
    expect(await page.getByRole('status').textContent()).toContain('gone-connector removed')
    expect(await live.isVisible()).toBe(true)
  })

  it('fits every page at 1280 px without horizontal scrolling, skips to the content in two Tabs, and reaches search and navigation by keyboard', async () => {
    const pages = [
      '',
      '#/flows/order_to_cash',
      '#/drill/order_to_cash/captured',
      `#/orders/${orderIds[5]}`,
      '#/inventory/SKU-E2E-1',
      '#/map',
      '#/connectors',
      '#/slos',
      '#/slos/order_reaches_erp',
      '#/alerts',
      '#/exceptions',
      '#/replays',
      '#/admin',
      '#/prices/SKU-E2E-PRICE',
      '#/purchase-orders',
      '#/batches',
      '#/reconciliation',
      '#/catalog',
      '#/contracts',
    ]
    const overflowing: string[] = []
    for (const hash of pages) {
      await openPage(page, sb.apiUrl, hash)
      const { scroll, client } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }))
      if (scroll > client) overflowing.push(`${hash || 'overview'}: ${scroll} > ${client}`)
    }
    expect(overflowing).toEqual([])
    const focused = () =>
      page.evaluate(() => ({
        name:
          document.activeElement?.getAttribute('data-testid') ??
          document.activeElement?.textContent?.trim() ??
          '',
        inMain: !!document.activeElement?.closest('main'),
      }))
    // The skip link is the first Tab from the top of a page, and with it the second Tab is in the
    // page's content: past the ~20 links of the navigation without touching them.
    await openPage(page, sb.apiUrl, '')
    await page.keyboard.press('Tab')
    expect((await focused()).name).toBe('Skip to content')
    await page.keyboard.press('Enter')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main')
    await page.keyboard.press('Tab')
    expect((await focused()).inMain).toBe(true)
    // Without it, Tab goes through the navigation and then reaches the search box.
    await openPage(page, sb.apiUrl, '')
    const reached: string[] = []
    for (let i = 0; i < 40 && !reached.includes('search-input'); i++) {
      await page.keyboard.press('Tab')
      reached.push((await focused()).name)
    }
    expect(reached[0]).toBe('Skip to content')
    expect(reached).toContain('Flows')
    expect(reached).toContain('search-input')
    // The navigation is what the skip link saves: many Tabs, where the skip link takes two.
    expect(reached.indexOf('search-input')).toBeGreaterThan(10)
    await page.keyboard.type(String(orderIds[5]))
    await page.keyboard.press('Enter')
    await page.waitForURL(`**/#/orders/${orderIds[5]}`)
  })
})
