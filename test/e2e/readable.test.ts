import { join } from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Demo, startDemo } from '../../connectors/demo.ts'
import { NO_FAULTS } from '../../connectors/estate/faults.ts'
import { evaluator } from '../support/alerting.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { until } from '../support/until.ts'
import { launchBrowser, screenshotDir } from './browser.ts'

/**
 * The UI as its users meet it, checked by tools rather than by eye: axe on every page in both
 * themes, the rendered chart labels' boxes for overlap and clipping, every page at a phone's
 * 390 px with the on-call path (alert → SLO → order) done by tapping, the tab titles, the skip
 * link and the not-found page.
 */
const SCREENSHOTS = screenshotDir()
const SCRATCH = screenshotDir({ forReadme: false })
const HOUR = 3_600_000
const PHONE = { width: 390, height: 844 }
const DESKTOP = { width: 1440, height: 900 }

let sb: TestSignalbox
let demo: Demo
let browser: Browser
let failedOrderId = ''
let doneOrderId = ''
let traceId = ''

beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_ROLLUP_INTERVAL_SECONDS: '1' })
  demo = await startDemo({
    collectorUrl: sb.collectorUrl,
    apiUrl: sb.apiUrl,
    ordersPerMinute: 0,
    callbackSecrets: [sb.config.replay.callbackSecret],
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
  })
  const { erp, payment, oms, wms, notification, crm, channels } = demo.estate
  for (const sim of [erp, payment, oms, wms, notification, crm, ...Object.values(channels)])
    sim.faults = { ...NO_FAULTS }
  for (let i = 0; i < 4; i++) doneOrderId = (await demo.placeOrder()).order.orderId
  const lifecycle = await until(
    async () => {
      const res = await fetch(`${sb.apiUrl}/api/orders/${doneOrderId}/lifecycle`)
      if (!res.ok) return undefined
      return (await res.json()) as {
        stages: Array<{ name: string; status: string }>
        timeline: Array<{ traceId: string | null; name: string }>
      }
    },
    (l) => l?.stages.find((s) => s.name === 'erp_posted')?.status === 'done',
    { what: 'an order to reach the ERP' },
  )
  traceId = lifecycle?.timeline.find((t) => t.traceId && t.name.includes('post_sales_order'))?.traceId ?? ''
  // An order the ERP refused: an open exception, and a failed stage on its page.
  demo.estate.erp.faults.outage = true
  failedOrderId = (await demo.placeOrder()).order.orderId
  await until(
    async () => {
      const res = await fetch(`${sb.apiUrl}/api/exceptions?connector=order-to-cash`)
      const body = (await res.json()) as { exceptions: Array<{ entity: { id: string } }> }
      return body.exceptions.some((e) => e.entity.id === failedOrderId)
    },
    (found) => found,
    { what: 'the ERP outage to raise an exception' },
  )
  demo.estate.erp.faults.outage = false
  // An order that stopped before the ERP two hours ago: it burns the order_reaches_erp budget, and
  // one evaluation with the shipped rules fires its alert.
  const t = Date.now() - 2 * HOUR
  const ev = (type: string, at: number, extra: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    id: `readable-${type}`,
    source: 'urn:e2e',
    type,
    subject: 'SO-PHONE-STUCK',
    time: new Date(at).toISOString(),
    ...extra,
  })
  const sent = await fetch(`${sb.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify([
      ev('retail.order.created', t, { data: { channel: 'web' } }),
      ev('retail.order.payment_authorized', t + 60_000),
      ev('retail.order.inventory_reserved', t + 120_000),
    ]),
  })
  expect(sent.status).toBe(200)
  const { deps } = evaluator(sb.store, join(import.meta.dirname, '../../config'), {})
  const { evaluate } = await import('../../alerts/evaluator.ts')
  await until(
    async () => {
      await evaluate({ ...deps, clock: Date.now }, 60_000)
      const res = await fetch(`${sb.apiUrl}/api/alerts?state=firing`)
      return ((await res.json()) as { alerts: Array<{ rule: string }> }).alerts
    },
    (alerts) => alerts.some((a) => a.rule.includes('order_reaches_erp')),
    { what: 'the order_reaches_erp alert to fire' },
  )
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await demo?.close()
  await sb?.close()
})

const pages = () => [
  '',
  '#/flows/order_to_cash',
  '#/drill/order_to_cash/captured',
  `#/orders/${doneOrderId}`,
  `#/orders/${failedOrderId}`,
  `#/traces/${traceId}`,
  '#/inventory',
  '#/prices',
  '#/map',
  '#/connectors',
  '#/slos',
  '#/slos/order_reaches_erp',
  '#/alerts',
  '#/exceptions',
  '#/replays',
  '#/admin',
  '#/search/SO-PHONE',
  '#/purchase-orders',
  '#/batches',
  '#/reconciliation',
  '#/catalog',
  '#/contracts',
]

async function open(page: Page, hash: string): Promise<void> {
  await page.goto(`${sb.apiUrl}/${hash}`)
  await page.locator('main h1').first().waitFor()
  await expect.poll(() => page.locator('[aria-busy="true"]').count(), { timeout: 20_000 }).toBe(0)
}

async function newPage(viewport: { width: number; height: number }, dark = false) {
  const context: BrowserContext = await browser.newContext({
    viewport,
    colorScheme: dark ? 'dark' : 'light',
    hasTouch: viewport.width < 500,
  })
  return { context, page: await context.newPage() }
}

/**
 * Every chart's visible labels on the page, checked as rendered: none overlaps another and none
 * runs past its chart's box (clipped). The charts are SVG, so each label is an element with a box.
 */
async function labelProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = []
    document.querySelectorAll('.chart').forEach((chart, n) => {
      const box = chart.getBoundingClientRect()
      // Text under a clip path (a scrolling legend's hidden page) is not on show.
      const labels = [...chart.querySelectorAll('svg text')]
        .filter((t) => (t.textContent ?? '').trim() !== '' && Number(getComputedStyle(t).opacity) > 0)
        .filter((t) => !t.closest('[clip-path]'))
        .map((t) => ({ text: (t.textContent ?? '').trim(), r: t.getBoundingClientRect() }))
        .filter(({ r }) => r.width > 0 && r.height > 0)
      const name = chart.getAttribute('aria-label') ?? `chart ${n}`
      for (const { text, r } of labels)
        if (
          r.left < box.left - 1 ||
          r.right > box.right + 1 ||
          r.top < box.top - 1 ||
          r.bottom > box.bottom + 1
        )
          problems.push(`${name}: "${text}" clipped`)
      for (let i = 0; i < labels.length; i++)
        for (let j = i + 1; j < labels.length; j++) {
          const a = labels[i]?.r as DOMRect
          const b = labels[j]?.r as DOMRect
          const w = Math.min(a.right, b.right) - Math.max(a.left, b.left)
          const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top)
          if (w > 2 && h > 2) problems.push(`${name}: "${labels[i]?.text}" over "${labels[j]?.text}"`)
        }
    })
    return problems
  })
}

describe('the UI checked by tools', () => {
  for (const dark of [false, true])
    it(`has no serious or critical accessibility violations on any page, in the ${dark ? 'dark' : 'light'} theme`, async () => {
      const found: string[] = []
      const { context, page } = await newPage(DESKTOP, dark)
      for (const hash of pages()) {
        await open(page, hash)
        const { violations } = await new AxeBuilder({ page }).analyze()
        for (const v of violations.filter((x) => x.impact === 'serious' || x.impact === 'critical'))
          found.push(
            `${hash || 'overview'}: ${v.id} (${v.impact}) ${v.nodes
              .slice(0, 3)
              .map((nd) => nd.target.join(' '))
              .join(' | ')}`,
          )
      }
      await context.close()
      expect(found).toEqual([])
    }, 360_000)

  it('draws chart labels that neither overlap nor run off the chart on the order and SLO pages', async () => {
    const found: string[] = []
    for (const viewport of [DESKTOP, PHONE]) {
      const { context, page } = await newPage(viewport)
      for (const hash of [
        `#/orders/${failedOrderId}`,
        `#/orders/${doneOrderId}`,
        '#/slos/order_reaches_erp',
        '',
      ]) {
        await open(page, hash)
        await page.locator('.chart svg text').first().waitFor()
        // Polled: while a chart animates in, a label can pass over another on its way.
        const problems = await until(
          () => labelProblems(page),
          (p) => p.length === 0,
          { what: 'the labels to settle', timeoutMs: 5_000 },
        ).catch(() => labelProblems(page))
        found.push(...problems.map((p) => `${viewport.width} px ${hash || 'overview'}: ${p}`))
      }
      await context.close()
    }
    expect(found).toEqual([])
  })

  it('names the page in the tab title, skips to the content, and says so when a page does not exist', async () => {
    const { context, page } = await newPage(DESKTOP)
    await open(page, '#/slos/order_reaches_erp')
    await expect.poll(() => page.title()).toBe('order_reaches_erp · Signalbox')
    await open(page, `#/orders/${doneOrderId}`)
    await expect.poll(() => page.title()).toBe(`Order ${doneOrderId} · Signalbox`)
    await open(page, '#/exceptions')
    await expect.poll(() => page.title()).toBe('Exceptions · Signalbox')
    // The first Tab reaches the skip link; Enter puts focus on the page's content, past the bar.
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content')
    await page.keyboard.press('Enter')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main')
    expect(page.url()).toMatch(/#\/exceptions$/)
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => !!document.activeElement?.closest('main'))).toBe(true)
    await open(page, '#/no-such-page/x')
    expect(await page.locator('main h1').textContent()).toBe('Page not found')
    await expect.poll(() => page.title()).toBe('Page not found · Signalbox')
    expect(await page.getByRole('heading', { name: 'Overview' }).count()).toBe(0)
    await context.close()
  })
})

describe('at a phone’s 390 px', () => {
  it('fits every page to the screen, with the navigation behind a menu', async () => {
    const { context, page } = await newPage(PHONE)
    const overflowing: string[] = []
    for (const hash of pages()) {
      await open(page, hash)
      const { scroll, client } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }))
      if (scroll > client) {
        // Name the widest offenders, so a failure says what to fix.
        const wide = await page.evaluate((w) => {
          const past = [...document.querySelectorAll('body *')].filter(
            (e) => e.getBoundingClientRect().right > w + 1,
          )
          return past
            .filter((e) => !past.includes(e.parentElement as Element))
            .slice(0, 3)
            .map(
              (e) =>
                `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} "${(e.textContent ?? '').slice(0, 40)}"`,
            )
        }, client)
        overflowing.push(`${hash || 'overview'}: ${scroll} > ${client} (${wide.join('; ')})`)
      }
      // Charts fit inside the screen too.
      const wide = await page.evaluate(
        (w) =>
          [...document.querySelectorAll('.chart')].filter((c) => c.getBoundingClientRect().right > w + 1)
            .length,
        PHONE.width,
      )
      if (wide > 0) overflowing.push(`${hash || 'overview'}: ${wide} chart(s) past the edge`)
    }
    expect(overflowing).toEqual([])
    // The navigation is folded; the menu opens it, and choosing a page folds it again.
    await open(page, '')
    const alerts = page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Alerts' })
    expect(await alerts.isVisible()).toBe(false)
    await page.getByTestId('menu-toggle').tap()
    expect(await page.getByTestId('menu-toggle').getAttribute('aria-expanded')).toBe('true')
    await alerts.tap()
    await page.waitForURL('**/#/alerts')
    expect(await alerts.isVisible()).toBe(false)
    await context.close()
  })

  it('takes the on-call engineer from the alert to its SLO to the order, by tapping', async () => {
    const { context, page } = await newPage(PHONE)
    await open(page, '#/alerts')
    const row = page.locator('[data-testid="active-alerts"] tr', { hasText: 'order_reaches_erp' }).first()
    await row.getByRole('link').tap()
    await page.getByTestId('alert-detail').waitFor()
    await page.getByRole('link', { name: 'Open the SLO' }).tap()
    await page.waitForURL('**/#/slos/order_reaches_erp')
    const burned = page.getByRole('link', { name: /order SO-PHONE-STUCK/ })
    await burned.scrollIntoViewIfNeeded()
    await page.screenshot({ path: join(SCRATCH, 'slo-phone.png'), fullPage: true })
    await burned.tap()
    await page.waitForURL('**/#/orders/SO-PHONE-STUCK')
    // The overdue stage is on the screen, not scrolled off to the right of the track.
    const overdue = page.locator('[data-testid="stage"][data-status="late"]')
    await overdue.first().waitFor()
    const box = await overdue.first().boundingBox()
    expect(box && box.x >= 0 && box.x + box.width <= PHONE.width).toBe(true)

    // From the exceptions list, each row shows all its columns, labelled; the failed order opens
    // with its failed stage in view and the replay at hand.
    await open(page, '#/exceptions')
    const exception = page.locator('[data-testid="exceptions"] tbody tr', { hasText: failedOrderId })
    await exception.waitFor()
    for (const cell of await exception.locator('td').all()) {
      if (!(await cell.textContent())?.trim()) continue
      const b = await cell.boundingBox()
      expect(b && b.x >= 0 && b.x + b.width <= PHONE.width, (await cell.textContent()) ?? '').toBe(true)
    }
    expect(await exception.locator('td[data-label="status"]').isVisible()).toBe(true)
    await exception.getByRole('link', { name: failedOrderId }).tap()
    await page.waitForURL(`**/#/orders/${failedOrderId}`)
    const failed = page.locator('[data-testid="stage"][data-status="failed"]')
    await failed.first().waitFor()
    const fb = await failed.first().boundingBox()
    expect(fb && fb.x >= 0 && fb.x + fb.width <= PHONE.width).toBe(true)
    expect(await page.getByTestId('replay-exception').isVisible()).toBe(true)
    // The first screen, as the phone shows it: the failure, its replay and the stage track.
    await page.evaluate(() => window.scrollTo(0, 0))
    await page.screenshot({ path: join(SCREENSHOTS, 'order-phone.png') })
    await context.close()
  })

  it('looks right in the dark theme (for the README)', async () => {
    const { context, page } = await newPage(DESKTOP, true)
    await open(page, '#/slos/order_reaches_erp')
    await page.locator('[data-testid="slo-burndown"] .chart svg').waitFor()
    await page.screenshot({ path: join(SCREENSHOTS, 'slo-dark.png'), fullPage: true })
    await open(page, '#/map')
    await page.locator('.chart svg').first().waitFor()
    await page.screenshot({ path: join(SCRATCH, 'map-dark.png'), fullPage: true })
    await context.close()
  })
})
