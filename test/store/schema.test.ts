import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { freshSchema, SCHEMA_FILE } from '../../store/schema.ts'

describe('store/schema.sql', () => {
  it('is the schema every migration makes on a fresh store (after a migration: npm run schema)', async () => {
    expect(await freshSchema()).toBe(readFileSync(SCHEMA_FILE, 'utf8'))
  })
})
