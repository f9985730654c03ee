import { addColumn } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const tokenScopes: Migration = {
  id: 12,
  name: 'token_scopes',
  why: 'A token may be limited to some flows, channels and systems (JSON; empty: unlimited).',
  statements: (t) => [...addColumn('api_tokens', "scope String DEFAULT ''", t)],
}
