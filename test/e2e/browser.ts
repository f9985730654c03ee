import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'

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
