import { ContractBook } from '../../core/contract-book.ts'
import { loadEntityKeyAliases } from '../../core/entity-keys.ts'
import { loadEventContracts } from '../../core/event-contracts.ts'
import { eventEntityOf, loadFlows } from '../../core/flows.ts'
import { loadRedaction, type RedactionKind, type Redactor } from '../../core/privacy.ts'
import { type EventPrepareContext, eventPrepareContext } from '../events/prepare.ts'
import { type PrepareContext, prepareContext } from '../spans/prepare.ts'

/** What a decoding thread is started with (structured-cloned): it builds its own contexts from it. */
export interface WorkerSettings {
  readonly retentionDays: number
  readonly maxAttributeLength: number
  /** Entity keys, personal-data rules, flows (which entity an event type is about) and event contracts. */
  readonly configDir: string
  /** Keys the searchable hashes; undefined: no redaction. */
  readonly hashKey?: string
}

export interface PreparerContexts {
  readonly spans: PrepareContext
  readonly events: EventPrepareContext
}

/**
 * Everything preparing needs, read from the settings and the config directory: the same on every
 * decoding thread and on the main thread when there are none. Each context's redactor counts into
 * its own map, so a request's counts travel back with it.
 */
export function preparerContexts(settings: WorkerSettings): PreparerContexts {
  const { configDir, hashKey } = settings
  const redactor =
    hashKey === undefined
      ? undefined
      : (count: (kind: RedactionKind) => void): Redactor => loadRedaction(configDir, hashKey, count)
  return {
    spans: prepareContext(
      {
        retentionDays: settings.retentionDays,
        maxAttributeLength: settings.maxAttributeLength,
        aliases: loadEntityKeyAliases(configDir),
      },
      redactor,
    ),
    events: eventPrepareContext(
      {
        // Events of a flow configured with an entity type of its own are keyed by it, like the built-in ones.
        entityOf: eventEntityOf(loadFlows(configDir)),
        contracts: new ContractBook(loadEventContracts(configDir)),
      },
      redactor,
    ),
  }
}
