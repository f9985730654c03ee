import type { EntityKeyAliases } from '../core/entity-keys.ts'
import { PayloadTooLargeError } from '../core/errors.ts'
import { INTEGRATION_ATTRIBUTES } from '../core/vocabulary.ts'
import type { Attributes } from './otlp/model.ts'

/** Business keys and integration context found on one span, log record or event. */
export interface BusinessContext {
  /** [entity type, id] pairs: the rows this item adds to the entity index. Pairs may be shared between items. */
  readonly entities: Array<readonly [string, string]>
  readonly location: string
  readonly connector: string
  readonly flow: string
  readonly system: string
  readonly stage: string
}

/**
 * What one [type, id] pair costs a request beyond its text: the entity index row it becomes copies
 * the item's trace and span ids, name and context.
 */
const ENTITY_ROW_BYTES = 64

const NO_PAIRS: ReadonlyArray<readonly [string, string]> = []

/** An attribute holding several keys (an order's SKUs) arrives as a JSON array string. */
function addIds(into: Array<readonly [string, string]>, type: string, value: string): void {
  if (value.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value)
      if (Array.isArray(parsed)) {
        for (const v of parsed)
          if ((typeof v === 'string' && v !== '') || typeof v === 'number') into.push([type, String(v)])
        return
      }
    } catch {
      // not JSON after all: keep it as one id
    }
  }
  if (value !== '') into.push([type, value])
}

/** What a resource contributes, worked out once per resource rather than once per span. */
interface ResourceKeys {
  /** By entity type, and `location`. */
  readonly keys: Partial<Record<string, string>>
  /** By entity type, its pairs, read once: every item under the resource that does not name its own shares them. */
  readonly ids: Partial<Record<string, ReadonlyArray<readonly [string, string]>>>
  readonly connector: string
  readonly flow: string
  readonly system: string
}

/** Where an attribute name counts: a slot (an entity type, `location`, an integration field) and its rank there. */
interface KeyUse {
  readonly slot: number
  /** Its place in the slot's alias list: of the aliases set and not empty, the lowest rank wins. */
  readonly rank: number
}

const INTEGRATION_FIELDS = ['connector', 'flow', 'system', 'stage'] as const

/**
 * The attribute names that matter, each with where it counts, worked out once per alias table. A span
 * is then one pass over its own few attributes, where asking for each alias by name was some thirty
 * lookups of names mostly absent, with a different key each time (`npm run bench:prepare`).
 */
const nameIndexes = new WeakMap<EntityKeyAliases, Map<string, KeyUse[]>>()

function nameIndex(aliases: EntityKeyAliases, slots: readonly string[]): Map<string, KeyUse[]> {
  const cached = nameIndexes.get(aliases)
  if (cached) return cached
  const index = new Map<string, KeyUse[]>()
  const add = (name: string, use: KeyUse) => {
    const uses = index.get(name)
    if (uses) uses.push(use)
    else index.set(name, [use])
  }
  for (const [slot, type] of slots.entries())
    for (const [rank, name] of (aliases[type] ?? []).entries()) add(name, { slot, rank })
  for (const [i, field] of INTEGRATION_FIELDS.entries())
    add(INTEGRATION_ATTRIBUTES[field], { slot: slots.length + i, rank: 0 })
  nameIndexes.set(aliases, index)
  return index
}

/**
 * Finds business keys by their configured names: span (or log) attributes first, then resource
 * attributes, so a connector can put its own identity on the resource and the order id on the span.
 * One instance per request: resources are shared by all the spans under them.
 */
export class BusinessKeyFinder {
  private readonly resources = new Map<Attributes, ResourceKeys>()
  /** The built-in entity types, then those entity-keys.yaml adds. */
  private readonly entityTypes: readonly string[]
  /** The entity types, then `location`: the key slots, in the order `index` numbers them. */
  private readonly slots: readonly string[]
  private readonly index: Map<string, KeyUse[]>
  /** Per slot, then per integration field: the value found on the span being read and its rank. */
  private readonly found: Array<string | undefined>
  private readonly ranks: number[]
  /** What the pairs found so far cost (ENTITY_ROW_BYTES and their text), against `maxBytes`. */
  private entityBytes = 0

  constructor(
    aliases: EntityKeyAliases,
    /**
     * The most the request's pairs may cost. A resource listing a thousand SKUs, within the attribute
     * limit, gives them to each span under it: 8,000 spans were 8 million pairs, and a decoding
     * thread ran out of memory making them before the block's own bound was reached.
     */
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    this.entityTypes = Object.keys(aliases).filter((k) => k !== 'location')
    this.slots = [...this.entityTypes, 'location']
    this.index = nameIndex(aliases, this.slots)
    this.found = new Array(this.slots.length + INTEGRATION_FIELDS.length).fill(undefined)
    this.ranks = new Array(this.found.length).fill(0)
  }

  /** A resource's keys, read by the same rule as a span's (readSpan), once per resource. */
  private resourceKeys(resource: Attributes): ResourceKeys {
    let kept = this.resources.get(resource)
    if (!kept) {
      this.readSpan(resource)
      const { found, slots } = this
      const keys: Partial<Record<string, string>> = {}
      for (const [i, slot] of slots.entries()) if (found[i] !== undefined) keys[slot] = found[i]
      const ids: Partial<Record<string, Array<readonly [string, string]>>> = {}
      for (const type of this.entityTypes) {
        const value = keys[type]
        if (value === undefined) continue
        const pairs: Array<readonly [string, string]> = []
        addIds(pairs, type, value)
        ids[type] = pairs
      }
      const integration = slots.length
      kept = {
        keys,
        ids,
        connector: found[integration] ?? '',
        flow: found[integration + 1] ?? '',
        system: found[integration + 2] ?? '',
      }
      this.resources.set(resource, kept)
    }
    return kept
  }

  /**
   * Into `found`: of each key slot, the value of its best-ranked alias that is set and not empty; of
   * each integration field, its value even if empty (a span's '' overrides its resource's).
   */
  private readSpan(attrs: Attributes): void {
    const { found, ranks, index } = this
    found.fill(undefined)
    const keySlots = this.slots.length
    for (const name in attrs) {
      const uses = index.get(name)
      if (uses === undefined) continue
      const value = attrs[name] as string
      for (const { slot, rank } of uses) {
        if (slot < keySlots && value === '') continue
        if (found[slot] === undefined || rank < (ranks[slot] as number)) {
          found[slot] = value
          ranks[slot] = rank
        }
      }
    }
  }

  /** Counts an item's pairs against the budget: past it, the request is refused before more are made. */
  private charge(entities: ReadonlyArray<readonly [string, string]>): void {
    for (const [type, id] of entities) this.entityBytes += ENTITY_ROW_BYTES + type.length + id.length
    if (this.entityBytes > this.maxBytes)
      throw new PayloadTooLargeError(
        this.maxBytes,
        `the request's business keys take more than ${this.maxBytes} bytes as entity index rows: a resource's list of ids is indexed for every item under it, so send fewer ids there or smaller batches`,
      )
  }

  find(attrs: Attributes, resource: Attributes): BusinessContext {
    const res = this.resourceKeys(resource)
    this.readSpan(attrs)
    const { found, entityTypes } = this
    const entities: Array<readonly [string, string]> = []
    for (let i = 0; i < entityTypes.length; i++) {
      const type = entityTypes[i] as string
      const own = found[i]
      if (own !== undefined) addIds(entities, type, own)
      else for (const pair of res.ids[type] ?? NO_PAIRS) entities.push(pair)
    }
    this.charge(entities)
    const integration = entityTypes.length + 1
    return {
      entities,
      location: found[entityTypes.length] ?? res.keys.location ?? '',
      connector: found[integration] ?? res.connector,
      flow: found[integration + 1] ?? res.flow,
      system: found[integration + 2] ?? res.system,
      stage: found[integration + 3] ?? '',
    }
  }
}
