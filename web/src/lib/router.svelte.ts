/**
 * Hash routes (`#/orders/SO-1`): every page is a shareable URL, and the api needs no SPA fallback.
 */
export interface Route {
  readonly page: string
  readonly params: readonly string[]
  readonly query: URLSearchParams
}

function parse(): Route {
  const [path = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?')
  const [page = 'overview', ...params] = path.split('/').filter(Boolean).map(decodeURIComponent)
  return { page, params, query: new URLSearchParams(search) }
}

export const route = $state({ current: parse() })
window.addEventListener('hashchange', () => {
  route.current = parse()
})

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`
}

export function go(...parts: string[]): void {
  location.hash = href(...parts)
}

/** A page with filters in its URL (`#/drill/order_to_cash/captured?channel=web`). */
export function goWith(parts: string[], query: Record<string, string | undefined>): void {
  const search = new URLSearchParams(
    Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  )
  location.hash = `${href(...parts)}${search.size ? `?${search}` : ''}`
}

/** The page that shows each kind of thing the api names (shipments have none yet). */
const PAGES: Record<string, string> = {
  order: 'orders',
  return: 'returns',
  sku: 'inventory',
  trace: 'traces',
  alert: 'alerts',
  slo: 'slos',
}

/** The page's path parts for an order, return, SKU or trace, or undefined for kinds without a page. */
export function pageOf(kind: string, id: string, ...more: string[]): string[] | undefined {
  const page = PAGES[kind]
  return page ? [page, id, ...more] : undefined
}
