import type { EntityKeyAliases } from '../core/entity-keys.ts'
import { INTEGRATION_ATTRIBUTES } from '../core/vocabulary.ts'
import type { Attributes } from './otlp/model.ts'

/** Business keys and integration context found on one span, log record or event. */
export interface BusinessContext {
  /** [entity type, id] pairs: the rows this item adds to the entity index. */
  readonly entities: Array<[string, string]>
  readonly location: string
  readonly connector: string
  readonly flow: string
  readonly system: string
  readonly stage: string
}

/** An attribute holding several keys (an order's SKUs) arrives as a JSON array string. */
function addIds(into: Array<[string, string]>, type: string, value: string): void {
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

function first(names: readonly string[], attrs: Attributes): string | undefined {
  for (const n of names) {
    const v = attrs[n]
    if (v !== undefined && v !== '') return v
  }
  return undefined
}

/** What a resource contributes, worked out once per resource rather than once per span. */
interface ResourceKeys {
  /** By entity type, and `location`. */
  readonly keys: Partial<Record<string, string>>
  readonly connector: string
  readonly flow: string
  readonly system: string
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
  private readonly slots: readonly string[]

  constructor(private readonly aliases: EntityKeyAliases) {
    this.entityTypes = Object.keys(aliases).filter((k) => k !== 'location')
    this.slots = [...this.entityTypes, 'location']
  }

  private resourceKeys(resource: Attributes): ResourceKeys {
    let found = this.resources.get(resource)
    if (!found) {
      const keys: Partial<Record<string, string>> = {}
      for (const slot of this.slots) {
        const v = first(this.aliases[slot] ?? [], resource)
        if (v !== undefined) keys[slot] = v
      }
      found = {
        keys,
        connector: resource[INTEGRATION_ATTRIBUTES.connector] ?? '',
        flow: resource[INTEGRATION_ATTRIBUTES.flow] ?? '',
        system: resource[INTEGRATION_ATTRIBUTES.system] ?? '',
      }
      this.resources.set(resource, found)
    }
    return found
  }

  find(attrs: Attributes, resource: Attributes): BusinessContext {
    const res = this.resourceKeys(resource)
    const entities: Array<[string, string]> = []
    for (const type of this.entityTypes) {
      const value = first(this.aliases[type] ?? [], attrs) ?? res.keys[type]
      if (value !== undefined) addIds(entities, type, value)
    }
    return {
      entities,
      location: first(this.aliases.location, attrs) ?? res.keys.location ?? '',
      connector: attrs[INTEGRATION_ATTRIBUTES.connector] ?? res.connector,
      flow: attrs[INTEGRATION_ATTRIBUTES.flow] ?? res.flow,
      system: attrs[INTEGRATION_ATTRIBUTES.system] ?? res.system,
      stage: attrs[INTEGRATION_ATTRIBUTES.stage] ?? '',
    }
  }
}
