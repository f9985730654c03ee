import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { loadConfig } from '../core/config.ts'
import { createLogger } from '../core/logger.ts'
import { vaultFor } from '../core/payload-vault.ts'
import type { Store } from '../store/client.ts'
import { apiApp } from './app.ts'
import { declaredPolicies, describeScope } from './policy.ts'

/** Where the generated route table is kept, with the rest of the docs. */
export const ROUTES_FILE = join(import.meta.dirname, '../docs/routes.md')

const HEADER = `# Routes: who may call each, and how it keeps to a token's scope

Generated from each route's own declaration (\`policy({ role, scope })\` beside the route in
\`api/routes/\`) by \`npm run docs:routes\`; do not edit. test/auth/permissions.test.ts fails when it
is stale. A role includes the roles before it (viewer, support, operator, admin); \`ingest\` is for
ingestion keys (and admins). What each scope dimension means is in [security](security.md); what each
route answers, in the [API](api.md) and the reference the api serves at \`/api/reference\`.

| route | least role | scope |
| --- | --- | --- |
`

/** The table for an app: every route in the order the app mounts them, with its declared policy. */
export function routeTable(app: Parameters<typeof declaredPolicies>[0]): string {
  const rows = [...declaredPolicies(app)].map(([route, p]) =>
    p ? `| \`${route}\` | ${p.role} | ${describeScope(p.scope)} |` : `| \`${route}\` | **none declared** | |`,
  )
  return `${HEADER}${rows.join('\n')}\n`
}

/** The api as the default configuration builds it; its routes are only listed, never called. */
export function defaultApp() {
  const config = loadConfig(
    { SIGNALBOX_CONFIG_DIR: join(import.meta.dirname, '../config') },
    { readDotEnv: false },
  )
  const vault = vaultFor({
    payloadKeys: `docs:${randomBytes(32).toString('base64')}`,
    dataDir: config.dataDir,
  })
  return apiApp({} as Store, config, createLogger('silent'), vault)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  writeFileSync(ROUTES_FILE, routeTable(defaultApp()))
