import type { Context } from 'hono'

/**
 * One page of a change feed, paginated by cursor the way ERP and WMS APIs are: `?after=<id>&limit=`
 * (100 by default, 500 at most), with the cursor of the next page while pages come back full.
 */
export function feedPage<T extends { readonly id: number }>(c: Context, items: readonly T[]): Response {
  const after = Number(c.req.query('after') ?? 0)
  const limit = Math.min(Number(c.req.query('limit') ?? 100) || 100, 500)
  const page = items.filter((s) => s.id > after).slice(0, limit)
  return Response.json({ items: page, next: page.length === limit ? page[page.length - 1]?.id : null })
}
