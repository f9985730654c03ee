import { defineConfig } from 'vitest/config'

// Browser tests: Debian's Chromium via playwright-core against the all-in-one with the demo estate.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
})
