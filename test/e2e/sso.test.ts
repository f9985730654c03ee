import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, startProvider, type TestProvider } from '../support/oidc.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { closeAll, launchBrowser, newPage } from './browser.ts'

let sb: TestSignalbox
let provider: TestProvider
let browser: Browser
beforeAll(async () => {
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  provider = await startProvider({
    clientId: 'signalbox',
    redirectUri: `${publicUrl}/auth/callback`,
    groups: { alice: ['sre'] },
  })
  sb = await startSignalbox({
    SIGNALBOX_HTTP_PORT: String(port),
    SIGNALBOX_PUBLIC_URL: publicUrl,
    SIGNALBOX_OIDC_ISSUER: provider.issuer,
    SIGNALBOX_OIDC_CLIENT_ID: 'signalbox',
    SIGNALBOX_OIDC_SCOPES: 'openid email profile groups',
    SIGNALBOX_OIDC_ROLES: 'sre=operator',
  })
  browser = await launchBrowser()
})
afterAll(() => closeAll(browser, sb, provider))

describe('single sign-on in the browser', () => {
  it('signs in at the provider, comes back to the same page as that user, and signs out', async () => {
    const { page } = await newPage(browser, { width: 1280, height: 800 })
    await page.goto(`${sb.apiUrl}/#/alerts`)
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).click()
    // The provider's own login and consent pages.
    await page.locator('input[name="login"]').fill('alice')
    await page.locator('input[name="password"]').fill('any password')
    await page.locator('button[type="submit"]').click()
    await page.locator('button[type="submit"]', { hasText: 'Continue' }).click()
    await page.waitForURL(`${sb.apiUrl}/#/alerts`, { waitUntil: 'commit' })
    await expect.poll(() => page.locator('.operator').textContent()).toContain('alice@example.com')
    expect(await page.getByRole('form', { name: 'Sign in' }).count()).toBe(0)
    // Signing out is a state change: it goes with the session's CSRF token, and the api then asks again.
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('form', { name: 'Sign in' }).waitFor()
    const cookies = await page.context().cookies(sb.apiUrl)
    expect(cookies.find((c) => c.name === 'signalbox_session')).toBeUndefined()
  })
})
