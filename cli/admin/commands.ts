import { userInfo } from 'node:os'
import type { Command } from 'commander'
import { type Config, loadConfig } from '../../core/config.ts'
import { ConfigError } from '../../core/errors.ts'
import { newKey, parseKeyRing } from '../../core/payload-vault.ts'
import type { TokenView } from './ops.ts'
import { type Admin, reachAdmin } from './reach.ts'

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

/** Runs an admin command against the running Signalbox or, when none runs, the store; says which. */
async function withAdmin(run: (admin: Admin, config: Config) => Promise<void>): Promise<void> {
  const config = loadConfig()
  const admin = await reachAdmin(config)
  process.stderr.write(`signalbox: ${admin.how}\n`)
  try {
    await run(admin, config)
  } finally {
    await admin.close()
  }
}

function whoAmI(): string {
  try {
    return `signalbox token create (${userInfo().username})`
  } catch {
    return 'signalbox token create'
  }
}

/** `signalbox token …` and `signalbox payload-keys …`: they work whether or not Signalbox runs. */
export function addAdminCommands(program: Command): void {
  const token = program
    .command('token')
    .description('API tokens and ingestion keys (through the running Signalbox, or the store when none runs)')

  token
    .command('create')
    .description('create a token and print it once; only its hash is stored')
    .requiredOption('--name <name>', 'who or what holds it')
    .option('--role <role>', 'viewer, support, operator or admin', 'viewer')
    .option(
      '--kind <kind>',
      'personal, service or ingest (an ingestion key: writes telemetry only)',
      'personal',
    )
    .option('--expires-days <n>', 'days until it expires (never, if not given)', (v) =>
      Number.parseInt(v, 10),
    )
    .option('--flows <names>', 'limit it to these flows (comma-separated)', list)
    .option('--channels <names>', 'limit it to these channels (comma-separated)', list)
    .option('--systems <names>', 'limit it to these systems (comma-separated)', list)
    .option(
      '--sources <names>',
      'an ingestion key: the sources it may write for (service.name, CloudEvents source, connector)',
      list,
    )
    .action(
      async (o: {
        name: string
        role: string
        kind: string
        expiresDays?: number
        flows?: string[]
        channels?: string[]
        systems?: string[]
        sources?: string[]
      }) => {
        const problems = [
          ...(['viewer', 'support', 'operator', 'admin'].includes(o.role)
            ? []
            : [`--role: '${o.role}' is not one of viewer, support, operator, admin`]),
          ...(['personal', 'service', 'ingest'].includes(o.kind)
            ? []
            : [`--kind: '${o.kind}' is not one of personal, service, ingest`]),
          ...(o.expiresDays === undefined || (o.expiresDays >= 1 && o.expiresDays <= 3650)
            ? []
            : ['--expires-days: between 1 and 3650']),
          ...(o.name.trim() ? [] : ['--name: must not be empty']),
        ]
        if (problems.length) throw new ConfigError(problems)
        await withAdmin(async (admin) => {
          const created = await admin.createToken({
            name: o.name,
            kind: o.kind as 'personal' | 'service' | 'ingest',
            role: o.role as 'viewer' | 'support' | 'operator' | 'admin',
            expiresInDays: o.expiresDays,
            scope: { flows: o.flows, channels: o.channels, systems: o.systems, sources: o.sources },
            by: whoAmI(),
          })
          process.stderr.write(`token ${created.id} (${created.role}) created; it is shown once:\n`)
          process.stdout.write(`${created.token}\n`)
        })
      },
    )

  token
    .command('list')
    .description('tokens and ingestion keys, newest first (never their secrets)')
    .option('--json', 'as JSON')
    .action((o: { json?: boolean }) =>
      withAdmin(async (admin) => {
        const tokens = await admin.listTokens()
        process.stdout.write(o.json ? `${JSON.stringify(tokens, null, 2)}\n` : tokenTable(tokens))
      }),
    )

  token
    .command('revoke <id>')
    .description('revoke a token: refused from the next request on')
    .action((id: string) =>
      withAdmin(async (admin) => {
        const revoked = await admin.revokeToken(id)
        process.stderr.write(`token ${revoked.id} (${revoked.name}) revoked\n`)
      }),
    )

  const payloadKeys = program
    .command('payload-keys')
    .description(
      'the key ring that encrypts sensitive exception payload fields at rest (through the running Signalbox, or the store when none runs)',
    )

  payloadKeys
    .command('new')
    .description('print a new key (id:base64) to put first in SIGNALBOX_PAYLOAD_KEYS')
    .action(() => {
      process.stdout.write(`${newKey()}\n`)
    })

  payloadKeys
    .command('reencrypt')
    .description('re-encrypt every stored payload with the first key of the ring; then older keys can go')
    .action(() =>
      withAdmin(async (admin, config) => {
        const expectKeyId = config.payloadKeys
          ? parseKeyRing(config.payloadKeys, 'SIGNALBOX_PAYLOAD_KEYS')[0]?.id
          : undefined
        const { n, keyId } = await admin.reencrypt({ expectKeyId })
        process.stderr.write(`${n} exception payloads re-encrypted with key ${keyId}\n`)
      }),
    )

  payloadKeys
    .command('rotate')
    .description(
      'with the key file in the data dir: add a new key first, then re-encrypt every stored payload',
    )
    .action(async () => {
      if (loadConfig().payloadKeys)
        throw new ConfigError([
          'SIGNALBOX_PAYLOAD_KEYS is set: put a new key first in it (`signalbox payload-keys new`), restart Signalbox, then run `signalbox payload-keys reencrypt`',
        ])
      await withAdmin(async (admin) => {
        const { n, keyId, file } = await admin.rotate()
        process.stderr.write(`key ${keyId} added to ${file}; ${n} exception payloads re-encrypted with it\n`)
      })
    })
}

function tokenTable(tokens: readonly TokenView[]): string {
  if (tokens.length === 0)
    return 'no tokens yet: create one with `signalbox token create --name you --role admin`\n'
  const day = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-')
  const rows = [
    ['ID', 'NAME', 'KIND', 'ROLE', 'CREATED', 'EXPIRES', 'REVOKED', 'LAST USED'],
    ...tokens.map((t) => [
      t.id,
      t.name,
      t.kind,
      t.role,
      day(t.createdAt),
      day(t.expiresAt),
      day(t.revokedAt),
      day(t.lastUsedAt),
    ]),
  ]
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n')
}
