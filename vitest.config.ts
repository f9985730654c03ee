import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vitest/config'

/** Suites that test the embedded engine itself: they have nothing to say about server mode. */
const SERVER_MODE_EXCLUDED = [
  'test/store/clickhouse-http.test.ts', // tests the double itself, once
  'test/store/imports.test.ts', // reads source files, not a store
  'test/store/read-lanes.test.ts', // the queue alone, no store
  'test/store/ddl.test.ts', // generated text, no store
  'test/store/schema.test.ts', // store/schema.sql is rendered by an embedded engine
  'test/store/cluster-ddl.test.ts', // the embedded engine's parser reads the cluster DDL
  'test/store/cluster-commands.test.ts', // a recorder stands in for a cluster's server
  'test/store/long-commands.test.ts', // a stand-in for a server busy copying a table
  'test/collector/native.test.ts', // checks Native blocks against a second embedded engine
  'test/collector/trace-filter.test.ts', // no store
  'test/collector/body.test.ts', // no store
  'test/api/replay-diff.test.ts', // no store
  'test/api/trace-depths.test.ts', // no store
  'test/collector/written-traces.test.ts', // the filter of written traces serves the embedded engine only
]

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
        // The store, collector and api suites once more in server mode (CLICKHOUSE_URL), against the
        // ClickHouse HTTP test double. Left out: what only the embedded engine has (a second engine
        // opened beside Signalbox's, killing the process that holds the engine, the staging files).
        test: {
          name: 'server',
          include: ['test/store/**/*.test.ts', 'test/collector/**/*.test.ts', 'test/api/**/*.test.ts'],
          exclude: SERVER_MODE_EXCLUDED,
          setupFiles: ['test/support/server-mode.ts'],
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
