import { createTable } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const tokenLastUsed: Migration = {
  id: 14,
  name: 'token_last_used',
  why: 'When each token was last used (at most once a minute per token), apart from the token rows so it can never race a revocation.',
  statements: (t) => [
    ...createTable(
      {
        name: 'api_token_uses',
        columns: ['id String', 'used_at DateTime64(3)'],
        engine: 'ReplacingMergeTree',
        engineArgs: 'used_at',
        orderBy: 'id',
        shardBy: 'cityHash64(id)',
      },
      t,
    ),
  ],
}
