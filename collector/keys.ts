import type { EntityKeyAliases } from '../core/entity-keys.ts'
import { ENTITY_TYPES, type EntityType, INTEGRATION_ATTRIBUTES } from '../core/vocabulary.ts'
import type { Attributes } from './otlp/model.ts'

/** Business keys and integration context found on one span, log record or event. */
export interface BusinessContext {
  /** [entity type, id] pairs: the rows this item adds to the entity index. */
  readonly entities: Array<[EntityType, string]>
  readonly location: string
  readonly connector: string
  readonly flow: string
  readonly system: string
  readonly stage: string
}

/** An attribute holding several keys (an order's SKUs) arrives as a JSON array string. */
function addIds(into: Array<[EntityType, string]>, type: EntityType, value: string): void {
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

function first(names: readonly string[], attrs: Attributes, resource: Attributes): string | undefined {
  for (const n of names) {
    const v = attrs[n]
    if (v !== undefined && v !== '') return v
  }
  for (const n of names) {
    const v = resource[n]
    if (v !== undefined && v !== '') return v
  }
  return undefined
}

/**
 * Finds business keys by their configured names: span (or log) attributes first, then resource
 * attributes, so a connector can put its own identity on the resource and the order id on the span.
 */
export function businessContext(
  aliases: EntityKeyAliases,
  attrs: Attributes,
  resource: Attributes,
): BusinessContext {
  const entities: Array<[EntityType, string]> = []
  for (const type of ENTITY_TYPES) {
    const value = first(aliases[type], attrs, resource)
    if (value !== undefined) addIds(entities, type, value)
  }
  return {
    entities,
    location: first(aliases.location, attrs, resource) ?? '',
    connector: attrs[INTEGRATION_ATTRIBUTES.connector] ?? resource[INTEGRATION_ATTRIBUTES.connector] ?? '',
    flow: attrs[INTEGRATION_ATTRIBUTES.flow] ?? resource[INTEGRATION_ATTRIBUTES.flow] ?? '',
    system: attrs[INTEGRATION_ATTRIBUTES.system] ?? resource[INTEGRATION_ATTRIBUTES.system] ?? '',
    stage: attrs[INTEGRATION_ATTRIBUTES.stage] ?? '',
  }
}
