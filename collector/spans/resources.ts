import { createHash } from 'node:crypto'
import type { Resource } from '../otlp/model.ts'
import { wellFormed } from '../well-formed.ts'

/*
 * A resource (the service, host, deployment that sent spans) is the same for every span it sends,
 * so it is stored once, in `span_resources`, and a span row keeps only its id: a tenth of the spans
 * table's disk, and a third of a block's bytes in the write queue (docs/benchmarks.md). The id is a
 * hash of what is stored, so every collector, before and after a restart, gives one resource one id
 * without asking anyone.
 */

/** One resource as `span_resources` stores it: the id is a UInt64 in decimal (beyond 2^53). */
export interface SpanResource {
  readonly id: string
  readonly serviceName: string
  readonly attributes: Readonly<Record<string, string>>
}

/**
 * The resource's id: the first 8 bytes of a SHA-256 of its service name and its attributes in key
 * order, so the order a sender lists them in does not matter. Never 0, which marks a span stored
 * before resources had ids (its attributes are on the span row). Strings are made well-formed first,
 * as the block's encoder writes them, so the hashed text is the stored text.
 */
export function resourceId(resource: Resource): bigint {
  return hashed(canonical(resource))
}

/** The resource as stored: well-formed strings, attributes in key order (the order hashed). */
interface Canonical {
  readonly serviceName: string
  readonly attributes: Record<string, string>
  /** Keys and values in key order, as hashed. */
  readonly pairs: readonly string[]
}

function canonical(resource: Resource): Canonical {
  const attributes: Record<string, string> = {}
  const pairs: string[] = []
  for (const k of Object.keys(resource.attributes).sort()) {
    const key = wellFormed(k)
    const value = wellFormed(resource.attributes[k] as string)
    attributes[key] = value
    pairs.push(key, value)
  }
  return { serviceName: wellFormed(resource.serviceName), attributes, pairs }
}

function hashed({ serviceName, pairs }: Canonical): bigint {
  const digest = createHash('sha256')
    .update(JSON.stringify([serviceName, ...pairs]))
    .digest()
  const id = digest.readBigUInt64LE(0)
  return id === 0n ? 1n : id
}

/** The ids of one request's resources, each hashed once, and the distinct resources to store. */
export class ResourceIds {
  private readonly byObject = new Map<Resource, bigint>()
  private readonly distinct = new Map<bigint, SpanResource>()

  of(resource: Resource): bigint {
    let id = this.byObject.get(resource)
    if (id === undefined) {
      const c = canonical(resource)
      id = hashed(c)
      this.byObject.set(resource, id)
      if (!this.distinct.has(id))
        this.distinct.set(id, { id: id.toString(), serviceName: c.serviceName, attributes: c.attributes })
    }
    return id
  }

  /** Every resource `of` was asked for, once each. */
  get resources(): SpanResource[] {
    return [...this.distinct.values()]
  }
}

/**
 * About what `resources` hold in memory while their request waits in the write queue, counted toward
 * its byte bound: a sender with a new resource on every span would otherwise queue several times the
 * bound (the block keeps only an 8-byte id a span). Strings at two bytes a character, plus each
 * object's and entry's overhead.
 */
export function resourcesSize(resources: readonly SpanResource[]): number {
  let bytes = 0
  for (const r of resources) {
    bytes += 96 + 2 * (r.id.length + r.serviceName.length)
    for (const k in r.attributes) bytes += 32 + 2 * (k.length + (r.attributes[k] as string).length)
  }
  return bytes
}
