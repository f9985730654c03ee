import { z } from 'zod'
import type { BatchConfig } from '../core/batches.ts'
import { type Catalog, EMPTY_CATALOG } from '../core/catalog.ts'
import { DAY_MS, durationSetting, HOUR_MS, MINUTE_MS } from '../core/duration.ts'
import { type FlowDefinition, flowShape } from '../core/flows.ts'
import { CONFLICT_KINDS, PRICE_FLOW, priceDeadlineMs } from '../core/prices.ts'
import { DISCREPANCY_KINDS } from '../core/receipts.ts'
import type { Store } from '../store/client.ts'
import {
  connectorRuns,
  openExceptionsPerConnector,
  oversellRiskPerChannel,
  stuckPerStage,
} from '../store/queries/alert-signals.ts'
import { unownedIntegrations } from '../store/queries/catalog.ts'
import { currentPriceConflicts } from '../store/queries/prices.ts'
import { batchRuleKinds } from './batch-rules.ts'
import { discrepanciesPerSupplier } from './receipt-signals.ts'

type Flows = ReadonlyMap<string, FlowDefinition>

export interface RuleContext {
  readonly store: Store
  readonly flows: Flows
  /** The scheduled jobs and business days of batches.yaml; none declared when absent. */
  readonly batches?: BatchConfig
  /** The integration catalog (catalog.yaml); empty when there is none. */
  readonly catalog?: Catalog
}

/** One label set's current value under a threshold rule; label sets no longer reported resolve. */
export interface RuleValue {
  readonly labels: Record<string, string>
  readonly value: number
  readonly over: boolean
  readonly reason: string
}

/** One kind of threshold rule: its settings in `alerts.yaml` and what it observes. */
export interface RuleKindSpec<S extends z.ZodType> {
  /** The settings under the kind's key in `alerts.yaml`. */
  readonly schema: S
  /** References in the parsed settings checked against flows.yaml (paths under the kind's key). */
  readonly check?: (settings: z.output<S>, flows: Flows) => Array<{ path: string[]; message: string }>
  readonly values: (ctx: RuleContext, settings: z.output<S>, now: Date) => Promise<RuleValue[]>
  /**
   * Its firing alerts say a connector is down: they suppress the alerts of SLOs that depend on that
   * connector (the cause pages, not every symptom).
   */
  readonly inhibitsDependents?: boolean
}

const ruleKind = <S extends z.ZodType>(spec: RuleKindSpec<S>) => spec
const above = z.number().int().min(0)

/** Every kind of threshold rule, by its key in `alerts.yaml`: the registry is the list of kinds. */
export const RULE_KINDS = {
  stuck: ruleKind({
    schema: z.object({ flow: z.string(), above }).strict(),
    check: (s, flows) =>
      flows.has(s.flow) ? [] : [{ path: ['flow'], message: `no flow '${s.flow}' in flows.yaml` }],
    values: async ({ store, flows }, s, now) => {
      const flow = flows.get(s.flow) as FlowDefinition
      const rows = await stuckPerStage(store, {
        flow: flowShape(flow),
        maxDelayMs: flow.stages.map((stage) => stage.maxDelayMs ?? 0),
        since: new Date(now.getTime() - 30 * DAY_MS),
        now,
      })
      return rows.map((r) => {
        const stage = flow.stages[r.stage - 1]?.name ?? String(r.stage)
        const n = Number(r.n)
        return {
          labels: { flow: flow.name, stage },
          value: n,
          over: n > s.above,
          reason: `${n} ${flow.entity}s overdue at ${stage} (threshold ${s.above})`,
        }
      })
    },
  }),
  exceptions: ruleKind({
    schema: z.object({ above }).strict(),
    values: async ({ store }, s) =>
      (await openExceptionsPerConnector(store)).map((r) => ({
        labels: { connector: r.connector },
        value: Number(r.n),
        over: Number(r.n) > s.above,
        reason: `${r.n} open exceptions at ${r.connector} (threshold ${s.above})`,
      })),
  }),
  drift: ruleKind({
    schema: z.object({ above }).strict(),
    values: async ({ store }, s, now) =>
      (await oversellRiskPerChannel(store, new Date(now.getTime() - 7 * DAY_MS), now)).map((r) => ({
        // The flow it belongs to, so a flow scope judges it (a channel alone is every flow's).
        labels: { flow: 'inventory_sync', channel: r.channel },
        value: Number(r.n),
        over: Number(r.n) > s.above,
        reason: `${r.n} SKU locations promised above available stock on ${r.channel} (threshold ${s.above})`,
      })),
  }),
  price_conflicts: ruleKind({
    schema: z.object({ above, kinds: z.array(z.enum(CONFLICT_KINDS)).min(1).optional() }).strict(),
    values: async ({ store, flows }, s, now) => {
      // The same conflicts as GET /api/prices/conflicts, past the price_sync flow's publication limit.
      const conflicts = await currentPriceConflicts(store, now.getTime(), priceDeadlineMs(flows))
      const counts = new Map<string, { channel: string; conflict: string; n: number }>()
      for (const c of conflicts) {
        if (s.kinds && !s.kinds.includes(c.kind)) continue
        const key = `${c.channel}\u0000${c.kind}`
        const entry = counts.get(key) ?? { channel: c.channel, conflict: c.kind, n: 0 }
        entry.n++
        counts.set(key, entry)
      }
      return [...counts.values()].map(({ channel, conflict, n }) => ({
        labels: { flow: PRICE_FLOW, channel, conflict },
        value: n,
        over: n > s.above,
        reason: `${n} SKUs on ${channel} with a ${conflict.replaceAll('_', ' ')} past the deadline (threshold ${s.above})`,
      }))
    },
  }),
  receipt_discrepancies: ruleKind({
    schema: z
      .object({ within: durationSetting, above, kinds: z.array(z.enum(DISCREPANCY_KINDS)).min(1).optional() })
      .strict(),
    values: async ({ store }, s, now) =>
      (await discrepanciesPerSupplier(store, new Date(now.getTime() - s.within), now, s.kinds)).map((d) => ({
        labels: { flow: 'procure_to_receive', supplier: d.supplier, discrepancy: d.kind },
        value: d.lines,
        over: d.lines > s.above,
        reason: `${d.lines} receipt lines ${d.kind.replaceAll('_', ' ')} from ${d.supplier} in the last ${s.within / MINUTE_MS}m (threshold ${s.above})`,
      })),
  }),
  connector_down: ruleKind({
    schema: z.object({ within: durationSetting, min_runs: z.number().int().min(1).default(3) }).strict(),
    values: async ({ store }, { within, min_runs }, now) =>
      (await connectorRuns(store, new Date(now.getTime() - within), now)).map((r) => ({
        labels: { connector: r.connector },
        value: Number(r.ok),
        over: Number(r.runs) >= min_runs && Number(r.ok) === 0,
        reason: `${r.ok} of ${r.runs} sync runs succeeded in the last ${within / MINUTE_MS}m`,
      })),
    inhibitsDependents: true,
  }),
  ...batchRuleKinds,
  unowned: ruleKind({
    schema: z
      .object({
        within: durationSetting.default(HOUR_MS),
        above: above.default(0),
        seen_as: z
          .array(z.enum(['service', 'connector', 'source']))
          .min(1)
          .optional(),
      })
      .strict(),
    values: async ({ store, catalog }, s, now) => {
      // Integrations seen in telemetry that no catalog entry owns (GET /api/catalog lists them).
      const found = (
        await unownedIntegrations(store, catalog ?? EMPTY_CATALOG, new Date(now.getTime() - s.within))
      ).filter((u) => !s.seen_as || s.seen_as.includes(u.seenAs))
      const named = found.slice(0, 5).map((u) => `${u.seenAs} ${u.name}`)
      const more = found.length > named.length ? ` and ${found.length - named.length} more` : ''
      return [
        {
          labels: {},
          value: found.length,
          over: found.length > s.above,
          reason:
            found.length === 0
              ? 'every integration seen is in the catalog'
              : `${found.length} seen in the last ${s.within / MINUTE_MS}m but not in the catalog: ${named.join(', ')}${more} (threshold ${s.above})`,
        },
      ]
    },
  }),
}

export type RuleKind = keyof typeof RULE_KINDS
export type RuleSettings<K extends RuleKind> = z.output<(typeof RULE_KINDS)[K]['schema']>

/** A rule's kind and its settings, as one of the registry's kinds. */
export type RuleOfKind = {
  [K in RuleKind]: { readonly kind: K; readonly settings: RuleSettings<K> }
}[RuleKind]

/** `{ <kind>: <settings> }`: one key, a kind of the registry. */
export const ruleSchema = z.union(
  (Object.keys(RULE_KINDS) as RuleKind[]).map((kind) =>
    z.object({ [kind]: RULE_KINDS[kind].schema }).strict(),
  ),
)

const spec = <K extends RuleKind>(kind: K) => RULE_KINDS[kind] as unknown as RuleKindSpec<z.ZodType>

/** The kind of a parsed rule (the one registry key it holds) and its settings. */
export function ruleOfKind(parsed: Readonly<Record<string, unknown>>): RuleOfKind {
  const kind = (Object.keys(RULE_KINDS) as RuleKind[]).find((k) => k in parsed) as RuleKind
  return { kind, settings: parsed[kind] } as RuleOfKind
}

export const checkRule = (rule: RuleOfKind, flows: Flows) =>
  spec(rule.kind).check?.(rule.settings, flows) ?? []

/** A threshold rule's current values by label set. */
export const ruleValues = (ctx: RuleContext, rule: RuleOfKind, now: Date): Promise<RuleValue[]> =>
  spec(rule.kind).values(ctx, rule.settings, now)

/** Whether a rule's firing alerts suppress the alerts of the SLOs that depend on their connector. */
export const inhibitsDependents = (rule: RuleOfKind): boolean => spec(rule.kind).inhibitsDependents ?? false
