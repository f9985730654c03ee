import { configuredFlows } from './flows.svelte.ts'

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
export function hrefWith(parts: string[], query: Record<string, string | undefined>): string {
  const search = new URLSearchParams(
    Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  )
  return `${href(...parts)}${search.size ? `?${search}` : ''}`
}

export function goWith(parts: string[], query: Record<string, string | undefined>): void {
  location.hash = hrefWith(parts, query)
}

/** Pages of their own for some kinds of thing the api names (orders and returns keep their short URLs). */
const PAGES: Record<string, string> = {
  order: 'orders',
  return: 'returns',
  sku: 'inventory',
  trace: 'traces',
  alert: 'alerts',
  slo: 'slos',
}

/**
 * The page's path parts for a thing the api names: its own page (an order, a SKU, a trace), the
 * entity page of a type a configured flow follows (`#/entities/purchase_order/PO-1`), or undefined
 * for kinds without a page (shipments).
 */
export function pageOf(kind: string, id: string, ...more: string[]): string[] | undefined {
  const page = PAGES[kind]
  if (page) return [page, id, ...more]
  return configuredFlows.of(kind) ? ['entities', kind, id, ...more] : undefined
}
