import type { ValidateFunction } from 'ajv/dist/2020.js'
import { compileContract, describeError } from './contract-schema.ts'
import {
  type ContractPolicy,
  type ContractSet,
  compareVersions,
  declaredVersion,
  type EventContract,
} from './event-contracts.ts'

/** An event's data that broke its type's contract. */
export interface ContractViolation {
  readonly type: string
  /** The version it was checked against (declared, else the latest); the declared one when unknown. */
  readonly version: string
  readonly policy: ContractPolicy
  /** A JSON path into the event's data (`$.lines[0].sku`), `$` for the whole. */
  readonly path: string
  readonly message: string
}

/** What the book needs of an event: the CloudEvents attributes that name its contract, and its data. */
export interface ContractedEvent {
  readonly type: string
  readonly dataschema: string
  readonly datacontenttype: string
  readonly extensions: Readonly<Record<string, string>>
  /** The data as text (collector/cloudevents.ts `BusinessEvent.data`). */
  readonly data: string
  /** `data` is bytes in base64 (`data_base64`): JSON sent that way is read from them. */
  readonly binary?: boolean
}

interface TypeEntry {
  readonly versions: Map<string, { contract: EventContract; validate: ValidateFunction }>
  latest: string
}

const isJson = (contentType: string) => contentType === '' || /[/+]json\b/.test(contentType)

/**
 * Every known contract, compiled once. The collector checks each event against it; the api reads it
 * to list types. Versions registered through the api are added as they are found in the store
 * (`add`); a known version is never replaced (contracts are immutable).
 */
export class ContractBook {
  private readonly types = new Map<string, TypeEntry>()
  private readonly policies = new Map<string, ContractPolicy>()

  constructor(private readonly set: ContractSet) {
    for (const c of set.contracts) this.add(c)
    for (const [type, policy] of Object.entries(set.policies)) this.policies.set(type, policy)
  }

  /** Adds a contract unless its version is known; returns whether it was new. */
  add(contract: EventContract, validate?: ValidateFunction): boolean {
    let entry = this.types.get(contract.type)
    if (!entry) {
      entry = { versions: new Map(), latest: contract.version }
      this.types.set(contract.type, entry)
    }
    if (entry.versions.has(contract.version)) return false
    entry.versions.set(contract.version, { contract, validate: validate ?? compileContract(contract.schema) })
    if (compareVersions(contract.version, entry.latest) > 0) entry.latest = contract.version
    return true
  }

  /** A type's policy registered through the api; the configured one (`policies.yaml`) wins. */
  setPolicy(type: string, policy: ContractPolicy): void {
    if (!(type in this.set.policies)) this.policies.set(type, policy)
  }

  policyOf(type: string): ContractPolicy {
    return this.policies.get(type) ?? this.set.defaultPolicy
  }

  /** Whether the policy of `type` was set in config/events/policies.yaml (the api cannot change it). */
  configuredPolicy(type: string): boolean {
    return type in this.set.policies
  }

  contract(type: string, version: string): EventContract | undefined {
    return this.types.get(type)?.versions.get(version)?.contract
  }

  /** Every type with its versions in order, oldest first. */
  list(): Array<{ type: string; policy: ContractPolicy; latest: string; versions: EventContract[] }> {
    return [...this.types.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([type, entry]) => ({
        type,
        policy: this.policyOf(type),
        latest: entry.latest,
        versions: [...entry.versions.values()]
          .map((v) => v.contract)
          .sort((a, b) => compareVersions(a.version, b.version)),
      }))
  }

  /** The violation of `event`'s data against its contract; undefined when it keeps it or has none. */
  check(event: ContractedEvent): ContractViolation | undefined {
    const entry = this.types.get(event.type)
    if (!entry) return undefined
    const policy = this.policyOf(event.type)
    const declared = declaredVersion(event.type, event.dataschema, event.extensions)
    const version = declared ?? entry.latest
    const known = entry.versions.get(version)
    const broke = (path: string, message: string) => ({ type: event.type, version, policy, path, message })
    if (!known) {
      const registered = [...entry.versions.keys()].sort(compareVersions).join(', ')
      return broke('$', `version ${version} of ${event.type} is not registered (registered: ${registered})`)
    }
    let data: unknown = null
    if (event.data !== '') {
      if (!isJson(event.datacontenttype)) return broke('$', `is not JSON (${event.datacontenttype})`)
      try {
        data = JSON.parse(event.binary ? Buffer.from(event.data, 'base64').toString('utf8') : event.data)
      } catch {
        return broke('$', 'is not JSON')
      }
    }
    if (known.validate(data)) return undefined
    const first = known.validate.errors?.[0]
    if (!first) return broke('$', 'does not keep the contract')
    const { path, message } = describeError(first)
    return broke(path, message)
  }
}
