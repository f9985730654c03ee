/**
 * The tab names the page: from the page's own heading (every page has one `h1`), so a page added
 * later is titled with no change here; until the heading renders, from the route.
 */
export function followHeading(main: HTMLElement, fallback: () => string): () => void {
  const apply = () => {
    const h1 = headingText(main.querySelector('h1'))
    const name = h1 || fallback()
    const title = `${name.length > 60 ? `${name.slice(0, 59)}…` : name} · Signalbox`
    if (document.title !== title) document.title = title
  }
  apply()
  const observer = new MutationObserver(apply)
  observer.observe(main, { subtree: true, childList: true, characterData: true })
  return () => observer.disconnect()
}

/** A route's page as words: `purchase_order` → "Purchase order". */
export function pageWords(page: string): string {
  const words = page.replaceAll(/[-_]/g, ' ')
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}`
}

/** The heading's words without its status chips and badges ("order_reaches_erp", not "… ▲ burning"). */
function headingText(h1: Element | null): string {
  if (!h1) return ''
  const copy = h1.cloneNode(true) as Element
  for (const chip of copy.querySelectorAll('.chip, .badge, [aria-hidden="true"]')) chip.remove()
  return (copy.textContent ?? '').replace(/\s+/g, ' ').trim()
}
