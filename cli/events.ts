import { existsSync, readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { loadConfig } from '../core/config.ts'
import { type ContractDiff, diffContracts } from '../core/contract-diff.ts'
import { compileContract } from '../core/contract-schema.ts'
import { loadEventContracts } from '../core/event-contracts.ts'
import { CliError } from './failure.ts'

/**
 * A version of `type` from config/events, or a schema file (`./order-created.v2.json`), so a team can
 * check a change before it is registered or shipped.
 */
function schemaOf(type: string, ref: string, configDir: string): unknown {
  if (ref.endsWith('.json') && existsSync(ref)) {
    let schema: unknown
    try {
      schema = JSON.parse(readFileSync(ref, 'utf8'))
      compileContract(schema)
    } catch (err) {
      throw new CliError(`reading ${ref}`, (err as Error).message)
    }
    return schema
  }
  const contracts = loadEventContracts(configDir).contracts.filter((c) => c.type === type)
  const found = contracts.find((c) => c.version === ref)
  if (found) return found.schema
  const known = contracts.map((c) => c.version).join(', ')
  throw new CliError(
    `${type} version ${ref}`,
    known
      ? `not in ${configDir}/events (it has ${known}); or give a path to a schema .json file`
      : `${type} has no contract in ${configDir}/events; give paths to schema .json files`,
  )
}

function describeDiff(type: string, from: string, to: string, diff: ContractDiff): string {
  const head = diff.compatible
    ? `${type} ${to} is backward compatible with ${from} for consumers`
    : `${type} ${to} BREAKS consumers written for ${from}`
  if (diff.changes.length === 0) return `${head}: no changes\n`
  const lines = diff.changes.map(
    (c) => `  ${c.breaking ? 'breaking  ' : 'compatible'}  ${c.path}  ${c.kind}: ${c.detail}`,
  )
  return `${head}:\n${lines.join('\n')}\n`
}

/** `signalbox events diff <type> <v1> <v2>`: exits 1 when the new version breaks consumers, for CI. */
export function addEventCommands(program: Command): void {
  program
    .command('events')
    .description('event contracts (docs/event-contracts.md)')
    .command('diff')
    .description('whether version <v2> of an event type is backward compatible with <v1> for its consumers')
    .argument('<type>', 'an event type, such as retail.order.created')
    .argument(
      '<v1>',
      'the version consumers are written for: a version in config/events, or a schema .json file',
    )
    .argument('<v2>', 'the new version, the same way')
    .option('--json', 'print the result as JSON')
    .action((type: string, v1: string, v2: string, options: { json?: boolean }) => {
      const { configDir } = loadConfig()
      const diff = diffContracts(schemaOf(type, v1, configDir), schemaOf(type, v2, configDir))
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ type, from: v1, to: v2, ...diff }, null, 2)}\n`
          : describeDiff(type, v1, v2, diff),
      )
      if (!diff.compatible) process.exitCode = 1
    })
}
