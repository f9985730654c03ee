import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PosReservations } from '../../connectors/estate/pos-reservations.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { closeAll, DESKTOP, launchBrowser, newPage } from './browser.ts'

let sb: TestSignalbox
let browser: Browser
let page: Page

beforeAll(async () => {
  sb = await startSignalbox()
  // The demo's store till: its fourth reservation sends the quantity as text.
  const pos = new PosReservations(sb.collectorUrl)
  for (let i = 0; i < 4; i++) await pos.reserveAny()
  browser = await launchBrowser()
  ;({ page } = await newPage(browser, DESKTOP))
})

afterAll(() => closeAll(browser, sb))

describe('the Event contracts page, in a real browser', () => {
  it('shows what broke, from which source, since when, with an example, and the contracts', async () => {
    await page.goto(`${sb.apiUrl}/`)
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Contracts' }).click()
    await page.waitForURL('**/#/contracts')
    const row = page.locator('[data-testid="contract-violations"] tbody tr')
    await row.first().waitFor()
    expect(await row.count()).toBe(1)
    const cells = await row.first().locator('td').allTextContents()
    expect(cells.slice(0, 6)).toEqual([
      'retail.inventory.reserved',
      '1',
      'urn:retail:pos:STORE-MAN-02',
      '$.quantity must be integer',
      'stored',
      '1',
    ])
    await row.first().locator('summary').click()
    expect(await row.first().locator('pre').textContent()).toMatch(/"quantity": "\d"/)
    const types = page.locator('[data-testid="contract-types"] tbody tr', { hasText: 'retail.order.created' })
    expect(await types.locator('td').allTextContents()).toEqual([
      'retail.order.created',
      'warn',
      '1',
      '1',
      'config/events',
    ])
  })
})
