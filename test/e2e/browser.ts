import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { expect } from 'vitest'
import { evaluate } from '../../alerts/evaluator.ts'
import { type Demo, startDemo } from '../../connectors/demo.ts'
import { evaluator } from '../support/alerting.ts'
import { quietEstate } from '../support/demo.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { until } from '../support/until.ts'

/**
 * What the browser tests share: Signalbox with the demo's simulated estate seeded through its own
 * connectors, Debian's Chromium driven by playwright-core, pages opened and waited for the same way,
 * and where screenshots go.
 */

export const DESKTOP = { width: 1280, height: 900 }
export const WIDE = { width: 1440, height: 900 }
export const PHONE = { width: 390, height: 844 }

/** Debian's Chromium (`apt-get install -y chromium`); playwright's own download cannot run here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`)
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  })
}

/**
 * Where the browser tests save screenshots: test-results/screenshots (ignored by git) unless
 * SIGNALBOX_SCREENSHOTS names another folder, as `npm run screenshots` does for docs/screenshots.
 * Pictures only for looking at (`forReadme: false`) always go to the scratch folder.
 */
export function screenshotDir({ forReadme = true } = {}): string {
  const root = join(import.meta.dirname, '../..')
  const chosen = forReadme ? process.env.SIGNALBOX_SCREENSHOTS : undefined
  const dir = resolve(root, chosen ?? 'test-results/screenshots')
  mkdirSync(dir, { recursive: true })
  return dir
}

/**
 * Pixels a panel's chart draws that are not background: a chart with data, not an empty frame. The
 * charts are SVG; drawn onto a canvas, they are counted as the eye would see them.
 */
export async function drawn(page: Page, testId: string): Promise<number> {
  return page.evaluate(async (id) => {
    const svg = document.querySelector(`[data-testid="${id}"] .chart svg`)
    if (!svg) return 0
    const { width, height } = svg.getBoundingClientRect()
    const image = new Image()
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`
    await image.decode()
    const canvas = document.createElement('canvas')
    canvas.width = Math.ceil(width)
    canvas.height = Math.ceil(height)
    const ctx = canvas.getContext('2d')
    if (!ctx) return 0
    ctx.drawImage(image, 0, 0)
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height)
    let count = 0
    for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) count++
    return count
  }, testId)
}

/** Anything a test starts and must stop: a browser, a context, the demo, Signalbox. */
type Closable = { close(): Promise<unknown> } | undefined

/** Closes in the order given (the browser before the server it talks to), whatever was started. */
export async function closeAll(...running: Closable[]): Promise<void> {
  for (const r of running) await r?.close()
}

/**
 * A page of its own (a fresh context: no cookies or storage from another test) at `viewport`,
 * touch-enabled when as narrow as a phone, in the dark colour scheme if asked.
 */
export async function newPage(
  browser: Browser,
  viewport: { width: number; height: number } = DESKTOP,
  { dark = false } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport,
    colorScheme: dark ? 'dark' : 'light',
    hasTouch: viewport.width < 500,
    // Charts drawn at once (the app honours it): checks and screenshots see finished lines.
    reducedMotion: 'reduce',
  })
  return { context, page: await context.newPage() }
}

/** Opens a route (`#/alerts`, '' for the overview) and waits until its heading and data are in. */
export async function openPage(page: Page, apiUrl: string, hash: string): Promise<void> {
  await page.goto(`${apiUrl}/${hash}`)
  await page.locator('main h1').first().waitFor()
  await expect.poll(() => page.locator('[aria-busy="true"]').count(), { timeout: 20_000 }).toBe(0)
}

export interface Estate {
  readonly sb: TestSignalbox
  readonly demo: Demo
}

/**
 * Signalbox (rollups every second, so charts fill at once) and the demo's simulated retail estate
 * with every fault off and no traffic of its own: orders come only when a test places them.
 */
export async function startEstate({
  retry = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
}: {
  retry?: { attempts: number; baseDelayMs: number; maxDelayMs: number }
} = {}): Promise<Estate> {
  const sb = await startSignalbox({ SIGNALBOX_ROLLUP_INTERVAL_SECONDS: '1' })
  const demo = await startDemo({
    collectorUrl: sb.collectorUrl,
    apiUrl: sb.apiUrl,
    ordersPerMinute: 0,
    callbackSecrets: [sb.config.replay.callbackSecret],
    retry,
  })
  quietEstate(demo.estate)
  return { sb, demo }
}

interface Lifecycle {
  stages: Array<{ name: string; status: string }>
  timeline: Array<{ traceId: string | null; name: string }>
}

/**
 * Real orders through the demo's connectors; returns once the last one is posted to the ERP (the
 * earlier ones went first), with their ids and the last one's lifecycle.
 */
export async function placePostedOrders(
  { sb, demo }: Estate,
  count: number,
): Promise<{ ids: string[]; last: Lifecycle }> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) ids.push((await demo.placeOrder()).order.orderId)
  const last = await until(
    async () => {
      const res = await fetch(`${sb.apiUrl}/api/orders/${ids.at(-1)}/lifecycle`)
      return res.ok ? ((await res.json()) as Lifecycle) : undefined
    },
    (l) => l?.stages.find((s) => s.name === 'erp_posted')?.status === 'done',
    { what: 'the last order to reach the ERP' },
  )
  return { ids, last: last as Lifecycle }
}

/**
 * Orders the ERP refused during an outage: each an open exception at the order-to-cash connector
 * once this returns. The ERP comes back afterwards unless `keepDown` (a test then brings it back).
 */
export async function failAtErp({ sb, demo }: Estate, count: number, { keepDown = false } = {}) {
  const ids: string[] = []
  demo.estate.erp.faults.outage = true
  for (let i = 0; i < count; i++) ids.push((await demo.placeOrder()).order.orderId)
  await until(
    async () => {
      const res = await fetch(`${sb.apiUrl}/api/exceptions?connector=order-to-cash&status=open`)
      const body = (await res.json()) as { exceptions: Array<{ entity: { id: string } }> }
      return ids.filter((id) => body.exceptions.some((e) => e.entity.id === id)).length
    },
    (n) => n === ids.length,
    { what: 'the ERP outage to raise an exception per order' },
  )
  if (!keepDown) demo.estate.erp.faults.outage = false
  return ids
}

/** A CloudEvent maker whose ids (`<prefix>-0`, `-1`…) are unique within the test file. */
export function cloudEvents(prefix: string) {
  let n = 0
  return (type: string, subject: string, at: number, extra: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    id: `${prefix}-${n++}`,
    source: 'urn:e2e',
    type,
    subject,
    time: new Date(at).toISOString(),
    ...extra,
  })
}

type MakeEvent = ReturnType<typeof cloudEvents>

/**
 * A SKU at DC-1 whose marketplace was told 40 when 10 are available (+30 units: oversell risk),
 * while the storefront is in sync.
 */
export const inventoryDrift = (ev: MakeEvent, sku: string, t: number) => [
  ev('retail.inventory.adjusted', sku, t, {
    locationid: 'DC-1',
    data: { on_hand: 50, available: 40, change: 1 },
  }),
  ev('retail.inventory.published', sku, t + 1000, {
    locationid: 'DC-1',
    data: { channel: 'storefront', quantity: 40, change: 1 },
  }),
  ev('retail.inventory.adjusted', sku, t + 60_000, {
    locationid: 'DC-1',
    data: { on_hand: 20, available: 10, change: 2 },
  }),
  ev('retail.inventory.published', sku, t + 61_000, {
    locationid: 'DC-1',
    data: { channel: 'storefront', quantity: 10, change: 2 },
  }),
  ev('retail.inventory.published', sku, t + 2000, {
    locationid: 'DC-1',
    data: { channel: 'marketplace', quantity: 40, change: 1 },
  }),
]

/** A price cut from 30.00 to 24.00 GBP the marketplace never took (stale), storefront and POS in step. */
export const stalePrice = (ev: MakeEvent, sku: string, t: number) => {
  const changed = (price: number, at: number) =>
    ev('retail.price.changed', sku, at, {
      sku,
      data: { sku, priceList: 'GB-RETAIL', price, currency: 'GBP', effectiveAt: new Date(at).toISOString() },
    })
  const published = (channels: string[], price: number, at: number) =>
    channels.map((channel) =>
      ev('retail.price.published', sku, at, { sku, channel, data: { sku, priceList: 'GB-RETAIL', price } }),
    )
  return [
    changed(30, t),
    ...published(['storefront', 'marketplace', 'pos'], 30, t + 1000),
    changed(24, t + 60_000),
    ...published(['storefront', 'pos'], 24, t + 62_000),
  ]
}

/** A purchase order through to its goods receipt, which came 4 units short on one of two lines. */
export const shortReceipt = (ev: MakeEvent, id: string, t: number) => {
  const po = (stage: string, at: number, system: string, data: object = {}) =>
    ev(`retail.purchase_order.${stage}`, id, at, { system, data })
  return [
    po('created', t, 'erp', { supplier: 'ACME-HOME', location: 'DC-NORTH' }),
    po('sent', t + 60_000, 'supplier-portal'),
    po('shipped', t + 120_000, 'supplier-portal', { asn: `ASN-${id}` }),
    po('received', t + 180_000, 'wms', {
      receipt: `GR-${id}`,
      supplier: 'ACME-HOME',
      location: 'DC-NORTH',
      asn: `ASN-${id}`,
      currency: 'GBP',
      lines: [
        { sku: 'SKU-PO-A', ordered: 24, shipped: 24, received: 20, unitCost: 3.5 },
        { sku: 'SKU-PO-B', ordered: 12, shipped: 12, received: 12, unitCost: 8 },
      ],
    }),
  ]
}

/** A run of a batch job that failed ten minutes after it started, with the reason. */
export const failedBatchRun = (ev: MakeEvent, job: string, runId: string, t: number) => {
  const businessDay = new Date(t).toISOString().slice(0, 10)
  const data = { job, runId, businessDay }
  return [
    ev('retail.batch.started', runId, t, { data: { ...data, rows: 0, rejected: 0 } }),
    ev('retail.batch.failed', runId, t + 10 * 60_000, {
      data: { ...data, rows: 120, rejected: 3, error: 'ERP unavailable' },
    }),
  ]
}

/** The shipped SLOs and alert rules (config/) evaluated once, as the evaluator's loop runs them. */
function evaluation(sb: TestSignalbox): () => Promise<unknown> {
  const { deps } = evaluator(sb.store, join(import.meta.dirname, '../../config'), {})
  return () => evaluate({ ...deps, clock: Date.now }, 60_000)
}

/** One evaluation, as the evaluator's loop runs every 30 s in `signalbox start`. */
export async function evaluateAlerts(sb: TestSignalbox): Promise<void> {
  await evaluation(sb)()
}

/** Evaluates until an alert whose rule names `rule` fires. */
export async function fireAlert(sb: TestSignalbox, rule: string): Promise<void> {
  const evaluateOnce = evaluation(sb)
  await until(
    async () => {
      await evaluateOnce()
      const res = await fetch(`${sb.apiUrl}/api/alerts?state=firing`)
      return ((await res.json()) as { alerts: Array<{ rule: string }> }).alerts
    },
    (alerts) => alerts.some((a) => a.rule.includes(rule)),
    { what: `the ${rule} alert to fire` },
  )
}
