import type { RetentionDays } from '../retention.ts'
import type { Target } from './frozen-ddl.ts'

/** A numbered schema change. Statements are idempotent (`IF NOT EXISTS`) so a re-run is harmless. */
export interface Migration {
  readonly id: number
  readonly name: string
  /** One line: why this change exists. */
  readonly why: string
  readonly statements: (target: Target, retention: RetentionDays) => string[]
}
