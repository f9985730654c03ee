import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Demo } from '../../connectors/demo.ts'
import type { TestSignalbox } from '../support/signalbox.ts'
import { closeAll, DESKTOP, failAtErp, launchBrowser, newPage, startEstate } from './browser.ts'

// Actions that tell the truth and a live page that stays put, as a person meets them in Chromium.
let sb: TestSignalbox
let demo: Demo
let browser: Browser
let page: Page
let failedOrders: string[] = []

beforeAll(async () => {
  ;({ sb, demo } = await startEstate({ retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } }))
  // Orders the ERP refused during an outage: open exceptions for a bulk replay (two keep its jobs
  // short). The ERP stays down: the first bulk replay fails, and a later test brings it back.
  failedOrders = await failAtErp({ sb, demo }, 2, { keepDown: true })
  browser = await launchBrowser()
  ;({ page } = await newPage(browser, DESKTOP))
})

afterAll(() => closeAll(browser, demo, sb))

const statusFilter = () => page.locator('form[aria-label="Filter exceptions"] select').first()
/** The replayable exceptions the ERP outage left at the order-to-cash connector, as the api counts them. */
let expected = 0
const openAtErp = async (status: string) => {
  const res = await fetch(
    `${sb.apiUrl}/api/exceptions?connector=order-to-cash&errorClass=erp.http_503&status=${status}`,
  )
  return ((await res.json()) as { exceptions: unknown[] }).exceptions.length
}

describe('actions that tell the truth', () => {
  it('says why a disabled action is disabled, and runs the dry run on the Status filter it shows', async () => {
    await page.goto(`${sb.apiUrl}/#/exceptions`)
    await page.getByTestId('exceptions').waitFor()
    const dryRun = page.getByTestId('bulk-dry-run')
    // Nobody named yet: the button looks and says disabled, and why.
    expect(await dryRun.getAttribute('aria-disabled')).toBe('true')
    expect(await dryRun.getAttribute('title')).toContain('Say who you are')
    const reasonId = await dryRun.getAttribute('aria-describedby')
    expect(await page.locator(`[id="${reasonId}"]`).textContent()).toContain('Say who you are')
    expect(await dryRun.evaluate((b) => getComputedStyle(b).cursor)).toBe('not-allowed')
    await page
      .getByLabel('Your name, recorded on acknowledgements, silences and replays')
      .fill('ops@example.com')
    expect(await dryRun.getAttribute('aria-disabled')).toBeNull()

    // Filtered to resolved exceptions: the list shows none, and so does the dry run.
    await page.getByLabel('Connector', { exact: true }).fill('order-to-cash')
    await page.getByLabel('Error class', { exact: true }).fill('erp.http_503')
    await statusFilter().selectOption('resolved')
    await page.getByText('✓ No exceptions match.').waitFor()
    await dryRun.click()
    const panel = page.getByTestId('bulk-panel')
    await panel.waitFor()
    expect(await panel.getByRole('heading').textContent()).toContain('0 exceptions match')
    expect(await panel.getByTestId('frozen-filter').textContent()).toContain('status = resolved')
    const launch = panel.getByRole('button', { name: 'Replay 0' })
    expect(await launch.getAttribute('aria-disabled')).toBe('true')
    expect(await launch.getAttribute('title')).toBe('nothing matches this filter')

    // A change of filter clears the dry run: what was confirmed can no longer be launched.
    await statusFilter().selectOption('open')
    await panel.waitFor({ state: 'detached' })
    await dryRun.click()
    await panel.waitFor()
    expect(await panel.getByTestId('frozen-filter').textContent()).toContain('status = open')
    expected = await openAtErp('open')
    expect(expected).toBeGreaterThanOrEqual(failedOrders.length)
    expect(await panel.getByRole('heading').textContent()).toContain(`${expected} exceptions match`)
    expect(await panel.getByTestId('frozen-filter').textContent()).toContain('connector = order-to-cash')
  })

  it('shows a bulk replay where every replay failed as failed, with the reason and a link for each', async () => {
    // The ERP is still down: every replay of the job fails.
    const panel = page.getByTestId('bulk-panel')
    await panel.getByLabel('Why').fill('ERP back? (it is not)')
    await panel.locator('input[type="number"]').fill('6000')
    await panel.getByRole('button', { name: `Replay ${expected}` }).click()
    await panel.waitFor({ state: 'detached' })
    const job = page.getByTestId('replay-job').filter({ hasText: 'ERP back? (it is not)' })
    await expect.poll(() => job.getAttribute('data-status'), { timeout: 120_000 }).toBe('done')
    expect(await job.getAttribute('data-outcome')).toBe('failed')
    const outcome = job.locator('[data-outcome="failed"]').first()
    expect(await outcome.textContent()).toContain(`✕ Failed: none of ${expected} exceptions replayed`)
    // Red, not the colour of success.
    const colours = await page.evaluate(() => {
      const css = getComputedStyle(document.documentElement)
      return { bad: css.getPropertyValue('--bad').trim(), ok: css.getPropertyValue('--ok').trim() }
    })
    const strong = await outcome.locator('strong').evaluate((e) => getComputedStyle(e).color)
    expect(strong).toBe(
      await page.evaluate((c) => {
        const probe = document.createElement('span')
        probe.style.color = c
        document.body.append(probe)
        const rgb = getComputedStyle(probe).color
        probe.remove()
        return rgb
      }, colours.bad),
    )
    const failures = job.getByTestId('job-failure')
    expect(await failures.count()).toBe(expected)
    for (const id of failedOrders) {
      const item = failures.filter({ hasText: id }).first()
      expect(await item.textContent()).toContain('erp.http_503')
      expect(await item.getByRole('link', { name: id }).getAttribute('href')).toBe(`#/orders/${id}`)
    }
    await failures.first().getByRole('link').click()
    await page.waitForURL(/#\/orders\//)
    await page.getByTestId('headline').waitFor()
  }, 300_000)

  it('after the fix, words and colours the bulk replay as it ended and says what changed', async () => {
    demo.estate.erp.faults.outage = false
    await page.goto(`${sb.apiUrl}/#/exceptions`)
    await page.getByLabel('Connector', { exact: true }).fill('order-to-cash')
    await statusFilter().selectOption('failed-again')
    await page.getByTestId('bulk-dry-run').click()
    const panel = page.getByTestId('bulk-panel')
    await panel.waitFor()
    expect(await panel.getByTestId('frozen-filter').textContent()).toContain('status = failed-again')
    await panel.getByLabel('Why').fill('ERP back after the outage')
    await panel.locator('input[type="number"]').fill('6000')
    await panel.getByRole('button', { name: `Replay ${expected}` }).click()
    const job = page.getByTestId('replay-job').filter({ hasText: 'ERP back after the outage' })
    await expect.poll(() => job.getAttribute('data-status'), { timeout: 120_000 }).toBe('done')
    // Most replays post now; a demo order on credit hold, if any, fails for a reason of its own.
    const jobs = (await (await fetch(`${sb.apiUrl}/api/replay-jobs`)).json()) as {
      jobs: Array<{ reason: string; outcome: string; progress: { succeeded: number }; failures: unknown[] }>
    }
    const done = jobs.jobs.find((j) => j.reason === 'ERP back after the outage')
    expect(done?.progress.succeeded).toBeGreaterThan(0)
    expect(['succeeded', 'partly_failed']).toContain(done?.outcome)
    expect(await job.getAttribute('data-outcome')).toBe(done?.outcome)
    const text = await job.locator('p[data-outcome]').first().textContent()
    expect(text).toContain(done?.outcome === 'succeeded' ? '✓ Succeeded:' : '⚠ Partly failed:')
    expect(await job.getByTestId('job-failure').count()).toBe(done?.failures.length)
    expect(text).toContain('replayed through post_sales_order')
  }, 300_000)
})

describe('a live page that stays put', () => {
  it('swaps the overview data in place on the live refresh: no Loading…, scroll and an open table stay', async () => {
    await page.clock.install()
    await page.goto(`${sb.apiUrl}/`)
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    await expect.poll(() => page.locator('[aria-busy="true"]').count(), { timeout: 20_000 }).toBe(0)
    const table = page.getByTestId('panel-latency').locator('details.chart-data')
    await table.locator('summary').click()
    await table.getByRole('table').waitFor()
    const scrolled = await page.evaluate(() => {
      window.scrollTo(0, 400)
      return window.scrollY
    })
    expect(scrolled).toBeGreaterThan(0)
    // Anything that shows "Loading…" from now on is noted, with the panel it appeared in.
    await page.evaluate(() => {
      const w = window as unknown as { loadingShown: string[] }
      w.loadingShown = []
      new MutationObserver((changes) => {
        for (const c of changes)
          for (const n of c.addedNodes) {
            const busy =
              n instanceof Element
                ? n.matches('[aria-busy="true"]')
                  ? n
                  : n.querySelector('[aria-busy="true"]')
                : null
            if (busy)
              w.loadingShown.push(
                busy.closest('[data-testid],section')?.getAttribute('data-testid') ??
                  busy.closest('section')?.getAttribute('aria-label') ??
                  'somewhere',
              )
          }
      }).observe(document.body, { childList: true, subtree: true })
    })
    // The live refresh asks again for every panel's data: the flow's metrics and the systems.
    const refreshed = ['/api/flows/order_to_cash/metrics', '/api/systems/map'].map((path) =>
      page.waitForResponse((r) => r.url().includes(path)),
    )
    await page.clock.fastForward(30_000)
    for (const answer of await Promise.all(refreshed)) expect(answer.ok()).toBe(true)
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)))
    expect(await page.evaluate(() => (window as unknown as { loadingShown: string[] }).loadingShown)).toEqual(
      [],
    )
    expect(await page.evaluate(() => window.scrollY)).toBe(scrolled)
    expect(await table.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true)
  })
})
