import { ContractBook } from '../../core/contract-book.ts'
import { loadEntityKeyAliases } from '../../core/entity-keys.ts'
import { loadEventContracts } from '../../core/event-contracts.ts'
import { eventEntityOf, loadFlows } from '../../core/flows.ts'
import { loadRedaction, type RedactionKind, type Redactor } from '../../core/privacy.ts'
import type { EventPrepareContext } from '../events/prepare.ts'
import type { LogPrepareContext } from '../logs/prepare.ts'
import type { PrepareContext } from '../spans/prepare.ts'

/** What a decoding thread is started with (structured-cloned): it builds its own contexts from it. */
export interface WorkerSettings {
  /** Of spans; logs have their own. */
  readonly retentionDays: number
  readonly logRetentionDays: number
  readonly maxAttributeLength: number
  readonly maxRequestBytes: number
  /** Entity keys, personal-data rules, flows (which entity an event type is about) and event contracts. */
  readonly configDir: string
  /** Keys the searchable hashes; undefined: no redaction. */
  readonly hashKey?: string
}

export interface PreparerContexts {
  readonly spans: PrepareContext
  readonly logs: LogPrepareContext
  readonly events: EventPrepareContext
}

type MakeRedactor = (count: (kind: RedactionKind) => void) => Redactor

/** `settings` with a redactor, if any, that counts into a map of the context's own. */
function counting<S>(
  settings: S,
  makeRedactor?: MakeRedactor,
): S & { privacy?: Redactor; redactionCounts: Map<RedactionKind, number> } {
  const redactionCounts = new Map<RedactionKind, number>()
  const privacy = makeRedactor?.((kind) => redactionCounts.set(kind, (redactionCounts.get(kind) ?? 0) + 1))
  return { ...settings, privacy, redactionCounts }
}

/**
 * Everything preparing needs, read from the settings and the config directory: the same on every
 * decoding thread and on the main thread when there are none. Each context's redactor counts into
 * its own map, so a request's counts travel back with it.
 */
export function preparerContexts(settings: WorkerSettings): PreparerContexts {
  const { configDir, hashKey } = settings
  const redactor: MakeRedactor | undefined =
    hashKey === undefined ? undefined : (count) => loadRedaction(configDir, hashKey, count)
  const aliases = loadEntityKeyAliases(configDir)
  const { maxAttributeLength, maxRequestBytes } = settings
  return {
    spans: counting(
      { retentionDays: settings.retentionDays, maxAttributeLength, maxRequestBytes, aliases },
      redactor,
    ),
    logs: counting(
      { retentionDays: settings.logRetentionDays, maxAttributeLength, maxRequestBytes, aliases },
      redactor,
    ),
    events: counting(
      {
        // Events of a flow configured with an entity type of its own are keyed by it, like the built-in ones.
        entityOf: eventEntityOf(loadFlows(configDir)),
        contracts: new ContractBook(loadEventContracts(configDir)),
      },
      redactor,
    ),
  }
}
