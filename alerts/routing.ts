import type { AlertInstance, Silence } from '../store/queries/alerts.ts'
import type { Route } from './config.ts'
import { type Matcher, matches } from './matchers.ts'

/**
 * The routes an alert goes to, Alertmanager's way: depth first, the deepest matching route wins, and
 * siblings after a match are tried only when it says `continue`.
 */
export function routesFor(route: Route, labels: Readonly<Record<string, string>>): Route[] {
  if (!matches(route.matchers, labels)) return []
  const found: Route[] = []
  for (const child of route.routes) {
    const hit = routesFor(child, labels)
    found.push(...hit)
    if (hit.length > 0 && !child.continue) break
  }
  return found.length > 0 ? found : [route]
}

export function groupKey(route: Route, labels: Readonly<Record<string, string>>): string {
  return `${route.id}{${route.groupBy.map((l) => `${l}=${labels[l] ?? ''}`).join(',')}}`
}

export function silencedBy(
  silences: readonly Silence[],
  labels: Readonly<Record<string, string>>,
  nowMs: number,
) {
  return silences.find(
    (s) => s.startsAtMs <= nowMs && nowMs < s.endsAtMs && matches(s.matchers as readonly Matcher[], labels),
  )
}

/** Labels a notification shows for its alerts: id and state included. */
export function alertLabels(a: Pick<AlertInstance, 'labels' | 'rule' | 'severity'>): Record<string, string> {
  return { ...a.labels, rule: a.rule, severity: a.severity }
}
