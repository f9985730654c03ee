import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { gzipSync } from 'node:zlib'
import { kv, ld, logsRequest, spanFields, str, traceRequest, varint } from '../../test/support/protobuf.ts'
import type { ChildSignalbox } from '../child.ts'
import { JSON_TYPE, PROTOBUF, post, sleep } from './http.ts'
import { Probe } from './stall.ts'

/*
 * Requests shaped to cost the collector far more than their size: lengths that do not nest (each
 * level read again), a resource copied into thousands of log records, a long scope name into
 * thousands of spans, a resource's thousand SKUs into the entity index rows of thousands of spans,
 * uploads that declare a large body and send nothing, small gzip bodies that inflate to the body
 * limit all at once, a large event batch sent again. Each is answered, the event loop stays free, memory stays bounded.
 */

export interface ShapeResult {
  readonly shape: string
  /** The answer expected: what a bounded collector says to it. */
  readonly expected: number
  readonly status: number
  readonly ms: number
  /** The longest the api's health probe waited meanwhile, less its period. */
  readonly stallMs: number
  /** The child's peak RSS while it ran. */
  readonly peakRssMB: number
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex')

/** An AnyValue whose array items declare arrays that run into the next item: 2^levels reads if re-read. */
function doubling(levels: number, leafItems: number): Buffer {
  if (levels === 0) return ld(5, Buffer.concat(Array.from({ length: leafItems }, () => ld(1, str('')))))
  const next = ld(1, doubling(levels - 1, leafItems))
  return ld(
    5,
    Buffer.concat([ld(1, Buffer.concat([Buffer.from([(5 << 3) | 2]), varint(next.length)])), next]),
  )
}

/** A good OTLP/JSON batch of one span: the bystander. */
function goodSpan(): string {
  const now = BigInt(Date.now()) * 1_000_000n
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'faults-shapes' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: hex(16),
                spanId: hex(8),
                name: 'ok',
                kind: 2,
                startTimeUnixNano: `${now}`,
                endTimeUnixNano: `${now}`,
              },
            ],
          },
        ],
      },
    ],
  })
}

/** `count` uploads that declare `declared` bytes and send none; `end` hangs them up. */
function idleUploads(url: string, count: number, declared: number): () => void {
  const requests = Array.from({ length: count }, () => {
    const req = http.request(`${url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': PROTOBUF, 'content-length': String(declared) },
    })
    req.on('error', () => {})
    req.flushHeaders()
    return req
  })
  return () => {
    for (const r of requests) r.destroy()
  }
}

function events(count: number): string {
  const time = new Date().toISOString()
  return JSON.stringify(
    Array.from({ length: count }, (_, i) => ({
      specversion: '1.0',
      id: `${hex(8)}-${i}`,
      source: 'urn:faults:bulk',
      type: 'retail.inventory.adjusted',
      subject: `SKU-${i % 500}`,
      time,
      data: { sku: `SKU-${i % 500}`, change: 1 },
    })),
  )
}

interface Shape {
  readonly name: string
  readonly expected: number
  /** Sends the request (and whatever goes with it); answers the status and time of the one measured. */
  readonly run: (child: ChildSignalbox) => Promise<{ status: number; ms: number }>
}

const MB = 1024 * 1024

const SHAPES: readonly Shape[] = [
  {
    name: 'protobuf lengths that do not nest (15 levels)',
    expected: 400,
    run: (child) => {
      const span = spanFields({
        traceId: hex(16),
        spanId: hex(8),
        extra: [ld(9, kv('x', doubling(15, 4000)))],
      })
      return post(`${child.collectorUrl}/v1/traces`, traceRequest([span]), PROTOBUF, 600_000)
    },
  },
  {
    name: 'a 192 KB resource × 4,000 log records',
    expected: 413,
    run: (child) => {
      const resource = [
        ld(1, kv('service.name', str('faults-shapes'))),
        ...Array.from({ length: 12 }, (_, i) => ld(1, kv(`attr.${i}`, str('r'.repeat(16 * 1024))))),
      ]
      const now = BigInt(Date.now()) * 1_000_000n
      const record = Buffer.concat([Buffer.from([(1 << 3) | 1]), Buffer.alloc(8), ld(5, str('tiny'))])
      record.writeBigUInt64LE(now, 1)
      const body = logsRequest(
        Array.from({ length: 4000 }, () => record),
        resource,
      )
      return post(`${child.collectorUrl}/v1/logs`, body, PROTOBUF, 600_000)
    },
  },
  {
    name: 'a 1 MB scope name × 3,000 spans',
    expected: 413,
    run: (child) => {
      const traceId = hex(16)
      const spans = Array.from({ length: 3000 }, () => spanFields({ traceId, spanId: hex(8) }))
      const scopeSpans = Buffer.concat([ld(1, ld(1, 'n'.repeat(MB))), ...spans.map((s) => ld(2, s))])
      const resource = ld(1, kv('service.name', str('faults-shapes')))
      const body = ld(1, Buffer.concat([ld(1, resource), ld(2, scopeSpans)]))
      return post(`${child.collectorUrl}/v1/traces`, body, PROTOBUF, 600_000)
    },
  },
  {
    name: 'a resource listing 1,000 SKUs × 8,000 spans',
    expected: 413,
    run: (child) => {
      const traceId = hex(16)
      const skus = JSON.stringify(Array.from({ length: 1000 }, (_, i) => `SKU-${100_000 + i}`))
      const spans = Array.from({ length: 8000 }, () => ld(2, spanFields({ traceId, spanId: hex(8) })))
      const resource = Buffer.concat([
        ld(1, kv('service.name', str('faults-shapes'))),
        ld(1, kv('retail.sku', str(skus))),
      ])
      const body = ld(1, Buffer.concat([ld(1, resource), ld(2, Buffer.concat(spans))]))
      return post(`${child.collectorUrl}/v1/traces`, body, PROTOBUF, 600_000)
    },
  },
  {
    // Each is answered 400 (zeros are not protobuf) or 429 (admission is full); anything else is shown.
    name: '40 gzip bodies of 16 KB, 16 MB each inflated, at once',
    expected: 400,
    run: async (child) => {
      const bomb = gzipSync(Buffer.alloc(16 * MB - 1))
      const answers = await Promise.all(
        Array.from({ length: 40 }, () =>
          post(`${child.collectorUrl}/v1/traces`, bomb, PROTOBUF, 600_000, { 'content-encoding': 'gzip' }),
        ),
      )
      const odd = answers.find((a) => a.status !== 400 && a.status !== 429)
      return odd ?? { status: 400, ms: Math.max(...answers.map((a) => a.ms)) }
    },
  },
  {
    name: '8 uploads declaring 16 MB, sending nothing: a good batch meanwhile',
    expected: 200,
    run: async (child) => {
      const end = idleUploads(child.collectorUrl, 8, 16 * MB - 1)
      await sleep(500)
      try {
        return await post(`${child.collectorUrl}/v1/traces`, goodSpan(), JSON_TYPE)
      } finally {
        end()
      }
    },
  },
  {
    name: 'a 60,000-event batch, sent again',
    expected: 200,
    run: async (child) => {
      const body = events(60_000)
      const type = 'application/cloudevents-batch+json'
      const first = await post(`${child.collectorUrl}/v1/events`, body, type, 600_000)
      if (first.status !== 200) return first
      return post(`${child.collectorUrl}/v1/events`, body, type, 600_000)
    },
  },
]

/** Each shape in turn against `child`, the api's health probed and the child's memory sampled meanwhile. */
export async function runShapes(child: ChildSignalbox): Promise<ShapeResult[]> {
  const probe = new Probe(child.apiUrl)
  const results: ShapeResult[] = []
  try {
    for (const shape of SHAPES) {
      await sleep(300)
      let peakRssMB = child.rssMB()
      const sampler = setInterval(() => {
        peakRssMB = Math.max(peakRssMB, child.rssMB())
      }, 50)
      const from = performance.now()
      const answer = await shape.run(child).finally(() => clearInterval(sampler))
      await sleep(300)
      const stallMs = probe.stall(from, performance.now())
      results.push({
        shape: shape.name,
        expected: shape.expected,
        status: answer.status,
        ms: answer.ms,
        stallMs,
        peakRssMB,
      })
      process.stderr.write(
        `  shapes: ${shape.name} → ${answer.status} in ${Math.round(answer.ms)} ms, stall ${Math.round(stallMs)} ms, peak RSS ${Math.round(peakRssMB)} MB\n`,
      )
    }
  } finally {
    await probe.stop()
  }
  return results
}
