/**
 * Follows a system's cursor-paginated change feed (`GET …?after=<id>&limit=` → `{ items, next }`),
 * the pattern ERP and WMS APIs offer, handing each new item on. Returns a stop function. The cursor
 * lives in memory: after a restart the feed is read again from the start, which idempotent steps
 * and event ids make harmless.
 */
export function followFeed<T extends { id: number }>(
  feedUrl: string,
  onItem: (item: T) => void,
  intervalMs: number,
): () => void {
  let after = 0
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const poll = async () => {
    try {
      for (;;) {
        const res = await fetch(`${feedUrl}?after=${after}&limit=200`)
        if (!res.ok) break
        const page = (await res.json()) as { items: T[]; next: number | null }
        for (const item of page.items) {
          // Once stopped, nothing more is handed on: the caller may be waiting for its work to settle.
          if (stopped) return
          after = item.id
          onItem(item)
        }
        if (page.next === null) break
      }
    } catch {
      // the system is down: the next poll resumes from the same cursor
    }
    if (!stopped) timer = setTimeout(poll, intervalMs)
  }
  void poll()
  return () => {
    stopped = true
    if (timer) clearTimeout(timer)
  }
}
