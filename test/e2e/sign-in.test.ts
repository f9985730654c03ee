import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createToken } from '../../auth/tokens.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { closeAll, launchBrowser, newPage } from './browser.ts'

let sb: TestSignalbox
let browser: Browser
beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens' })
  browser = await launchBrowser()
})
afterAll(() => closeAll(browser, sb))

describe('the web UI when Signalbox requires tokens', () => {
  it('asks for a token, then shows the pages that token may see', async () => {
    const { token } = await createToken(sb.store, {
      name: 'wallboard',
      kind: 'personal',
      role: 'viewer',
      createdBy: 'test',
    })
    const { page } = await newPage(browser, { width: 1280, height: 800 })
    const blocked: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' && m.text().includes('Content Security Policy')) blocked.push(m.text())
    })
    await page.goto(`${sb.apiUrl}/#/slos`)
    await page.getByRole('form', { name: 'Sign in' }).waitFor()
    await page.getByLabel('API token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('slo-list').waitFor()
    expect(await page.getByTestId('slo-list').textContent()).toContain('order_reaches_erp')
    // A viewer may not open an order: the page says so instead of showing it.
    await page.goto(`${sb.apiUrl}/#/orders/SO-1`)
    await expect.poll(() => page.locator('[role="alert"]').first().textContent()).toContain('may not')
    expect(blocked).toEqual([])
  })

  it('lets an admin create a token (shown once), revoke it, and read the audit log', async () => {
    const { token } = await createToken(sb.store, {
      name: 'root',
      kind: 'personal',
      role: 'admin',
      createdBy: 'test',
    })
    const { page } = await newPage(browser, { width: 1280, height: 800 })
    await page.goto(`${sb.apiUrl}/#/admin`)
    await page.getByLabel('API token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('tokens').waitFor()
    await page.getByLabel('Name').fill('ci-pipeline')
    // Exact: the token table's "created" heading is a sort button too.
    await page.getByRole('button', { name: 'Create', exact: true }).click()
    await expect.poll(() => page.getByTestId('new-token').textContent()).toMatch(/sbx_[0-9a-f]{16}\./)
    const row = page.locator('[data-testid="tokens"] tr', { hasText: 'ci-pipeline' })
    await row.getByRole('button', { name: 'Revoke' }).click()
    await expect.poll(() => row.textContent()).toContain('revoked')
    const audit = page.getByTestId('audit')
    // The log is read again after the revoke; until then the page keeps showing the last one it read.
    await expect.poll(() => audit.textContent()).toContain('DELETE /api/tokens/')
    expect(await audit.textContent()).toContain('POST /api/tokens')
    expect(await audit.textContent()).toContain('root')
  })
})
