import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**'],
    // Each test file is its own process: the embedded ClickHouse engine is one per process.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
