import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/web/**'],
          // Each test file is its own process: the embedded ClickHouse engine is one per process.
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Component tests: Svelte components compiled for the browser and mounted in happy-dom.
        plugins: [svelte()],
        resolve: { conditions: ['browser'] },
        test: { name: 'web', include: ['test/web/**/*.test.ts'], environment: 'happy-dom' },
      },
    ],
  },
})
