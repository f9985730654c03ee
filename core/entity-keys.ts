import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseDocument } from 'yaml'
import { z } from 'zod'
import { ConfigError } from './errors.ts'
import {
  ENTITY_TYPE_NAME,
  ENTITY_TYPES,
  type EntityType,
  KEY_ATTRIBUTES,
  LOCATION_ATTRIBUTE,
} from './vocabulary.ts'

/**
 * Attribute names (canonical first, then aliases) that carry each business key: the built-in entity
 * types and `location` always, and any entity type entity-keys.yaml adds (a configured flow's).
 */
export type EntityKeyAliases = Readonly<Record<EntityType | 'location', readonly string[]>> &
  Readonly<Record<string, readonly string[]>>

export const DEFAULT_ENTITY_KEY_ALIASES: EntityKeyAliases = Object.freeze({
  ...Object.fromEntries(ENTITY_TYPES.map((t) => [t, [KEY_ATTRIBUTES[t]]])),
  location: [LOCATION_ATTRIBUTE],
}) as unknown as EntityKeyAliases

const aliasList = z.array(z.string().min(1)).min(1)
const fileSchema = z.record(
  z.string().regex(ENTITY_TYPE_NAME, 'an entity type: lower-case letters, digits and underscores'),
  aliasList,
)

/**
 * Reads `entity-keys.yaml` from the config dir. A missing file means the canonical names only; a bad
 * file stops start-up with the file name and the problem.
 */
export function loadEntityKeyAliases(configDir: string): EntityKeyAliases {
  const file = join(configDir, 'entity-keys.yaml')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return DEFAULT_ENTITY_KEY_ALIASES
  }
  const doc = parseDocument(text)
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => `${file}: ${e.message}`))
  const parsed = fileSchema.safeParse(doc.toJS() ?? {})
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${file}: ${i.path.join('.') || '(root)'}: ${i.message}`),
    )
  }
  const merged: Record<string, readonly string[]> = {}
  for (const [key, canonical] of Object.entries(DEFAULT_ENTITY_KEY_ALIASES)) {
    const configured = parsed.data[key] ?? []
    // The canonical name always counts, whatever the file says, so the documented contract holds (docs/telemetry.md).
    merged[key] = [...new Set([...canonical, ...configured])]
  }
  // An entity type of a configured flow (`transfer_order: [retail.transfer_order.id]`).
  for (const [key, names] of Object.entries(parsed.data)) merged[key] ??= [...new Set(names)]
  return Object.freeze(merged) as EntityKeyAliases
}
