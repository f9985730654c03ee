import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { compileContract, type JsonSchema } from './contract-schema.ts'
import { ConfigError } from './errors.ts'
import { readYamlConfig } from './yaml-config.ts'

/**
 * Event contracts (docs/event-contracts.md): each event type's `data` is described by a JSON Schema
 * per version, shipped as `config/events/<type>/<version>.json` or registered through
 * `POST /api/event-types`. A version is immutable once known: a change is a new version.
 */

/** What the collector does with an event whose data breaks its contract. */
export const CONTRACT_POLICIES = ['warn', 'reject'] as const
export type ContractPolicy = (typeof CONTRACT_POLICIES)[number]

/** How an event type is spelled: a CloudEvents `type` in reverse-DNS style (`retail.order.created`). */
export const EVENT_TYPE_NAME = /^[a-z0-9][a-z0-9._-]{0,199}$/
/** A contract version: `1`, `2`, `1.1`, `2.0.1`; compared number by number. */
export const CONTRACT_VERSION = /^[0-9]{1,6}(\.[0-9]{1,6}){0,2}$/
/** The CloudEvents extension a producer names its contract version with (extension names are lower-case alphanumerics). */
export const VERSION_EXTENSION = 'dataversion'

export interface EventContract {
  readonly type: string
  readonly version: string
  readonly schema: JsonSchema
  /** Where it came from: a file under config/events, or the api. */
  readonly origin: 'config' | 'api'
}

export interface ContractSet {
  readonly contracts: readonly EventContract[]
  /** Policy per type; a type not listed has `defaultPolicy`. */
  readonly policies: Readonly<Record<string, ContractPolicy>>
  readonly defaultPolicy: ContractPolicy
}

/** Orders versions as numbers (`2` < `10`, `1.2` < `1.10`). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

const policiesSchema = z
  .object({
    default: z.enum(CONTRACT_POLICIES).default('warn'),
    types: z
      .record(z.string().regex(EVENT_TYPE_NAME, 'an event type'), z.enum(CONTRACT_POLICIES))
      .default({}),
  })
  .strict()

/**
 * Reads `<configDir>/events`: a folder per event type holding `<version>.json` schemas, and
 * `policies.yaml`. Every schema is compiled here, so a broken one stops start-up with its file named.
 */
export function loadEventContracts(configDir: string): ContractSet {
  const dir = join(configDir, 'events')
  if (!existsSync(dir)) return { contracts: [], policies: {}, defaultPolicy: 'warn' }
  const policyFile = join(dir, 'policies.yaml')
  const policies = existsSync(policyFile)
    ? readYamlConfig(policyFile, policiesSchema)
    : { default: 'warn' as const, types: {} }
  const problems: string[] = []
  const contracts: EventContract[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const type = entry.name
    if (!EVENT_TYPE_NAME.test(type)) {
      problems.push(`${join(dir, type)}: '${type}' is not an event type name`)
      continue
    }
    for (const file of readdirSync(join(dir, type)).sort()) {
      const path = join(dir, type, file)
      const version = file.replace(/\.json$/, '')
      if (!file.endsWith('.json') || !CONTRACT_VERSION.test(version)) {
        problems.push(`${path}: name a schema <version>.json, the version as 1, 2 or 1.1`)
        continue
      }
      try {
        const schema = JSON.parse(readFileSync(path, 'utf8')) as JsonSchema
        compileContract(schema)
        contracts.push({ type, version, schema, origin: 'config' })
      } catch (err) {
        problems.push(`${path}: ${(err as Error).message}`)
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return { contracts, policies: policies.types, defaultPolicy: policies.default }
}

/**
 * The version an event declares: its `dataversion` extension, else a `dataschema` whose path ends in
 * `<type>/<version>` or `<type>/<version>.json` (as `config/events` lays schemas out). Undefined
 * when it declares none; such an event is checked against the type's latest version.
 */
export function declaredVersion(
  type: string,
  dataschema: string,
  extensions: Readonly<Record<string, string>>,
): string | undefined {
  const ext = extensions[VERSION_EXTENSION]
  if (ext) return ext.replace(/^v/i, '')
  if (!dataschema) return undefined
  const parts = dataschema.replace(/[?#].*$/, '').split(/[/:]/)
  const last = (parts.at(-1) ?? '').replace(/\.json$/, '').replace(/^v/i, '')
  return parts.at(-2) === type && CONTRACT_VERSION.test(last) ? last : undefined
}
