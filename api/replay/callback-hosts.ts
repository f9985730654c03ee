/**
 * Whether a callback URL names a host Signalbox may call (SIGNALBOX_CALLBACK_HOSTS: names, or
 * `*.domain` for any name under it; none listed: any host). A connector registers its own callback
 * with its ingestion key, so without a list a key can point Signalbox's signed POSTs, and its probe
 * every half minute, at an internal address.
 */
export function callbackHostAllowed(url: string, hosts: readonly string[]): boolean {
  if (hosts.length === 0) return true
  let host: string
  try {
    host = new URL(url).hostname.toLowerCase()
  } catch {
    return false
  }
  return hosts.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) : host === h))
}

export const hostRefusal = (url: string) => {
  let host = url
  try {
    host = new URL(url).hostname
  } catch {}
  return `the callback's host ${host.slice(0, 200)} is not among SIGNALBOX_CALLBACK_HOSTS`
}
