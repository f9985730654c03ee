import { createHash } from 'node:crypto'
import { runEvery } from '../core/background.ts'
import type { BatchConfig } from '../core/batches.ts'
import { type Catalog, EMPTY_CATALOG } from '../core/catalog.ts'
import type { FlowDefinition } from '../core/flows.ts'
import {
  type AlertInstance,
  appendTransitions,
  leads,
  leaseTermMs,
  listInstances,
  saveInstances,
  type TransitionRecord,
} from '../store/queries/alerts.ts'
import { type Change, listChanges } from '../store/queries/changes.ts'
import { ownerLabels, reasonWithChanges, relatedIntegrations } from './governance.ts'
import { type NotifyDeps, notify } from './notify.ts'
import { inhibitsDependents, ruleValues } from './rules.ts'
import { sloStatus } from './slo-status.ts'
import { type SloDefinition, sloLabels } from './spec.ts'
import { INITIAL, type InstanceState, type Observation, step } from './state.ts'

export interface EvaluatorDeps extends NotifyDeps {
  readonly slos: readonly SloDefinition[]
  readonly flows: ReadonlyMap<string, FlowDefinition>
  /** The scheduled jobs (batches.yaml) the batch rule kinds read; none when absent. */
  readonly batches?: BatchConfig
  /** This evaluator's name in the lease. */
  readonly holder: string
  readonly clock?: () => number
  /** The integration catalog: owner and tier labels, unowned integrations, changes named in reasons. */
  readonly catalog?: Catalog
}

/** One alert instance as one evaluation sees it. */
interface Seen {
  readonly rule: string
  readonly severity: string
  readonly labels: Record<string, string>
  readonly seen: Observation
  readonly value: number | null
  readonly forMs: number
}

export const instanceId = (rule: string, labels: Readonly<Record<string, string>>) =>
  createHash('sha256')
    .update(JSON.stringify([rule, Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))]))
    .digest('hex')
    .slice(0, 16)

const errorReason = (err: unknown) =>
  `evaluation failed: ${err instanceof Error ? err.message.split('\n')[0]?.slice(0, 200) : 'unknown error'}`

async function sloObservations(deps: EvaluatorDeps, nowMs: number): Promise<Seen[]> {
  return (
    await Promise.all(
      deps.slos.map(async (slo): Promise<Seen[]> => {
        const labels = sloLabels(slo)
        try {
          const status = await sloStatus(deps.store, slo, nowMs)
          return status.tiers.map((tier) => ({
            rule: slo.id,
            severity: tier.severity,
            labels: { ...labels, severity: tier.severity },
            seen: {
              kind: tier.firing === null ? 'nodata' : tier.firing ? 'true' : 'false',
              reason: tier.reason,
            },
            value: tier.pairs[0]?.longBurn ?? null,
            forMs: 0,
          }))
        } catch (err) {
          return (['page', 'ticket'] as const).map((severity) => ({
            rule: slo.id,
            severity,
            labels: { ...labels, severity },
            seen: { kind: 'error', reason: errorReason(err) },
            value: null,
            forMs: 0,
          }))
        }
      }),
    )
  ).flat()
}

async function ruleObservations(
  deps: EvaluatorDeps,
  existing: readonly AlertInstance[],
  now: Date,
): Promise<Seen[]> {
  const seen: Seen[] = []
  for (const rule of deps.alerting.rules) {
    const base = { rule: rule.name, severity: rule.severity, forMs: rule.for }
    const withLabels = (labels: Record<string, string>) => ({
      ...ownerLabels(deps.catalog ?? EMPTY_CATALOG, { ...rule.labels, ...labels }),
      ...rule.labels,
      ...labels,
      severity: rule.severity,
    })
    try {
      const values = await ruleValues(deps, rule, now)
      const ids = new Set<string>()
      for (const v of values) {
        const labels = withLabels(v.labels)
        ids.add(instanceId(rule.name, labels))
        seen.push({
          ...base,
          labels,
          value: v.value,
          seen: { kind: v.over ? 'true' : 'false', reason: v.reason },
        })
      }
      // Label sets that no longer show up at all are back to normal (nothing stuck at that stage).
      for (const a of existing)
        if (a.rule === rule.name && !ids.has(a.id))
          seen.push({
            ...base,
            labels: { ...a.labels },
            value: 0,
            seen: { kind: 'false', reason: 'no longer observed' },
          })
    } catch (err) {
      for (const a of existing.filter((x) => x.rule === rule.name))
        seen.push({
          ...base,
          labels: { ...a.labels },
          value: null,
          seen: { kind: 'error', reason: errorReason(err) },
        })
    }
  }
  return seen
}

/**
 * Inhibition: a firing page suppresses the same SLO's ticket, and a firing connector-down alert
 * suppresses the alerts of SLOs that depend on that connector (the cause pages, not every symptom).
 */
function suppressor(deps: EvaluatorDeps, a: AlertInstance, all: readonly AlertInstance[]): string {
  const firing = all.filter((x) => x.state === 'firing' && x.id !== a.id)
  if (a.severity === 'ticket' && a.labels.slo) {
    const page = firing.find((x) => x.labels.slo === a.labels.slo && x.severity === 'page')
    if (page) return page.id
  }
  const slo = deps.slos.find((s) => s.id === a.labels.slo)
  if (slo && slo.dependsOn.length > 0) {
    const down = firing.find(
      (x) =>
        x.labels.connector &&
        slo.dependsOn.includes(x.labels.connector) &&
        deps.alerting.rules.some((r) => r.name === x.rule && inhibitsDependents(r)),
    )
    if (down) return down.id
  }
  return ''
}

/** Changes for alert reasons; a failed read leaves reasons as they are rather than fail the tick. */
async function changesOrNone(deps: EvaluatorDeps, catalog: Catalog): Promise<Change[]> {
  try {
    return await listChanges(deps.store, catalog)
  } catch (err) {
    deps.log.warn({ err }, 'changes could not be read for alert reasons')
    return []
  }
}

/**
 * A condition that holds names the changes to its integrations made within the catalog's change
 * window before it fired (before now, when it has not fired yet).
 */
function withChangeNamed(
  deps: EvaluatorDeps,
  catalog: Catalog,
  changes: readonly Change[],
  o: Seen,
  prev: AlertInstance | undefined,
  nowMs: number,
): Seen {
  if (o.seen.kind !== 'true' || changes.length === 0) return o
  const firedAtMs = prev?.state === 'firing' && prev.firedAtMs !== null ? prev.firedAtMs : nowMs
  const dependsOn = deps.slos.find((s) => s.id === o.labels.slo)?.dependsOn ?? []
  const related = relatedIntegrations(catalog, o.labels, dependsOn)
  const reason = reasonWithChanges(o.seen.reason, changes, related, firedAtMs, catalog.changeWindowMs)
  return reason === o.seen.reason ? o : { ...o, seen: { ...o.seen, reason } }
}

export interface TickResult {
  readonly leader: boolean
  readonly instances: readonly AlertInstance[]
  readonly transitions: readonly TransitionRecord[]
}

/**
 * One evaluation: every SLO's burn-rate tiers and every threshold rule, through the state machine,
 * persisted with the reason of each transition, then notifications. Only the lease holder evaluates,
 * so two evaluators never notify twice.
 */
export async function evaluate(deps: EvaluatorDeps, leaseMs: number): Promise<TickResult> {
  const nowMs = (deps.clock ?? Date.now)()
  const lease = { name: 'alerts', holder: deps.holder, termMs: leaseMs, tickMs: deps.alerting.intervalMs }
  if (!(await leads(deps.store, lease, nowMs))) return { leader: false, instances: [], transitions: [] }

  const existing = await listInstances(deps.store)
  const byId = new Map(existing.map((a) => [a.id, a]))
  const observed = [
    ...(await sloObservations(deps, nowMs)),
    ...(await ruleObservations(deps, existing, new Date(nowMs))),
  ]
  const transitions: TransitionRecord[] = []
  const catalog = deps.catalog ?? EMPTY_CATALOG
  const changes = observed.some((o) => o.seen.kind === 'true') ? await changesOrNone(deps, catalog) : []
  const next: AlertInstance[] = observed.map((observation) => {
    const id = instanceId(observation.rule, observation.labels)
    const prev = byId.get(id)
    const o = withChangeNamed(deps, catalog, changes, observation, prev, nowMs)
    const current: InstanceState = prev
      ? { state: prev.state as InstanceState['state'], sinceMs: prev.sinceMs, firedAtMs: prev.firedAtMs }
      : INITIAL
    const { next: state, transition } = step(current, o.seen, nowMs, o.forMs)
    if (transition)
      transitions.push({
        atMs: nowMs,
        id,
        rule: o.rule,
        severity: o.severity,
        labels: o.labels,
        ...transition,
        value: o.value,
      })
    return {
      id,
      rule: o.rule,
      severity: o.severity,
      labels: o.labels,
      state: state.state,
      reason: o.seen.reason,
      value: o.value,
      sinceMs: state.sinceMs,
      firedAtMs: state.firedAtMs,
      evaluatedAtMs: nowMs,
      suppressedBy: '',
      // An acknowledgement holds for the firing episode it was made in (compared on fired_at).
      ackedBy: prev && prev.firedAtMs === state.firedAtMs ? prev.ackedBy : '',
      ackedAtMs: prev && prev.firedAtMs === state.firedAtMs ? prev.ackedAtMs : null,
    }
  })
  const instances = next.map((a) =>
    a.state === 'firing' ? { ...a, suppressedBy: suppressor(deps, a, next) } : a,
  )
  await saveInstances(deps.store, instances, nowMs)
  await appendTransitions(deps.store, transitions)
  await notify(deps, instances, nowMs)
  return { leader: true, instances, transitions }
}

/** Runs `evaluate` every interval until stopped; a failed tick is logged and the next one retries. */
export function startEvaluator(deps: EvaluatorDeps): () => Promise<void> {
  const intervalMs = deps.alerting.intervalMs
  const leaseMs = leaseTermMs(intervalMs)
  const tick = async () => {
    const m = deps.metrics
    const timer = m?.duration.startTimer()
    try {
      const result = await evaluate(deps, leaseMs)
      m?.evaluations.inc({ outcome: result.leader ? 'leader' : 'standby' })
      if (m && result.leader) {
        m.alerts.reset()
        for (const a of result.instances) m.alerts.inc({ state: a.state })
      }
    } catch (err) {
      m?.evaluations.inc({ outcome: 'failed' })
      throw err
    } finally {
      timer?.()
    }
  }
  return runEvery(tick, {
    everyMs: intervalMs,
    log: deps.log,
    failure: 'alert evaluation failed; retrying at the next tick',
  })
}
