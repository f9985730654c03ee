import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { describe, expect, it } from 'vitest'
import { orderTrace } from '../../bench/retail-traces.ts'
import { decodeLogsRequest, decodeTraceRequest } from '../../collector/otlp/decode-proto.ts'
import { BadRequestError } from '../../core/errors.ts'
import { f64, kv, ld, logsRequest, spanFields, str, traceRequest, varint } from '../support/protobuf.ts'

const TRACE = '0af7651916cd43dd8448eb211c80319c'
const SPAN = 'b7ad6b7169203331'

/** What `decode` does with `body`: the records, or the 400 it refuses with. */
function outcome(decode: (b: Buffer) => unknown[], body: Buffer): unknown[] | BadRequestError {
  try {
    return decode(body)
  } catch (e) {
    if (e instanceof BadRequestError) return e
    throw e
  }
}

/**
 * A message of `field` whose last child (`childField`) declares a length that runs past the message's
 * own end: the child's payload sits after it, where the enclosing message goes on.
 */
const overrun = (field: number, body: Buffer, childField: number, payload: Buffer): Buffer =>
  Buffer.concat([
    ld(field, Buffer.concat([body, varint((childField << 3) | 2), varint(payload.length)])),
    payload,
  ])

/**
 * An AnyValue whose reading doubles with each level: an array item declares an array that runs past
 * the item into the next one, so a reader that rewinds to the item's end reads the rest twice.
 */
function doubling(levels: number): Buffer {
  if (levels === 0) return ld(5, Buffer.concat(Array.from({ length: 4 }, () => ld(1, str('')))))
  const next = ld(1, doubling(levels - 1))
  const header = Buffer.concat([Buffer.from([(5 << 3) | 2]), varint(next.length)])
  return ld(5, Buffer.concat([ld(1, header), next]))
}

describe('the OTLP protobuf decoder', () => {
  it('refuses lengths that do not nest, in linear time', () => {
    // 14 levels (within the nesting limit): 2^14 reads if the decoder rewound; a 400 at the first level that overruns.
    const body = traceRequest([
      spanFields({ traceId: TRACE, spanId: SPAN, extra: [ld(9, kv('x', doubling(14)))] }),
    ])
    const result = outcome(decodeTraceRequest, body)
    expect(result).toBeInstanceOf(BadRequestError)
    expect((result as BadRequestError).code).toBe('invalid_protobuf')
    expect((result as BadRequestError).message).toMatch(/past the end of its message/)
  })

  it('refuses field number 0, which no message has: a body of zeros is not an empty request', () => {
    for (const decode of [decodeTraceRequest, decodeLogsRequest]) {
      const zeros = outcome(decode, Buffer.alloc(1_000))
      expect(zeros).toBeInstanceOf(BadRequestError)
      expect((zeros as BadRequestError).message).toMatch(/field number 0/)
    }
    // Inside a span too, after fields that read well.
    const span = Buffer.concat([spanFields({ traceId: TRACE, spanId: SPAN }), Buffer.from([0, 0])])
    expect(outcome(decodeTraceRequest, traceRequest([span]))).toBeInstanceOf(BadRequestError)
  })

  it('refuses a child that runs past its parent at every level of a trace request', () => {
    const span = spanFields({ traceId: TRACE, spanId: SPAN })
    const scope = ld(1, ld(1, 'probe-scope'))
    const resource = ld(1, ld(1, kv('service.name', str('svc'))))
    const cases: Record<string, Buffer> = {
      // A span's attribute, event, link and status, each with its payload after the span.
      attribute: ld(
        1,
        Buffer.concat([resource, ld(2, Buffer.concat([scope, overrun(2, span, 9, ld(1, 'k'))]))]),
      ),
      event: ld(
        1,
        Buffer.concat([resource, ld(2, Buffer.concat([scope, overrun(2, span, 11, ld(2, 'e'))]))]),
      ),
      link: ld(
        1,
        Buffer.concat([
          resource,
          ld(
            2,
            Buffer.concat([
              scope,
              overrun(
                2,
                span,
                13,
                Buffer.concat([ld(1, Buffer.from(TRACE, 'hex')), ld(2, Buffer.from(SPAN, 'hex'))]),
              ),
            ]),
          ),
        ]),
      ),
      status: ld(
        1,
        Buffer.concat([resource, ld(2, Buffer.concat([scope, overrun(2, span, 15, ld(2, 'm'))]))]),
      ),
      // A span running past its scope, a scope past its resource, a resource attribute past the resource.
      span: ld(1, Buffer.concat([resource, overrun(2, scope, 2, span)])),
      scope: overrun(1, resource, 2, Buffer.concat([scope, ld(2, span)])),
      'resource attribute': ld(
        1,
        Buffer.concat([
          overrun(1, Buffer.alloc(0), 1, kv('a', str('b'))),
          ld(2, Buffer.concat([scope, ld(2, span)])),
        ]),
      ),
      // Inside a value: an array item, a map entry, a map entry's value.
      'array item': traceRequest([
        spanFields({
          traceId: TRACE,
          spanId: SPAN,
          extra: [ld(9, kv('x', overrun(5, Buffer.alloc(0), 1, str('s'))))],
        }),
      ]),
      'map entry': traceRequest([
        spanFields({
          traceId: TRACE,
          spanId: SPAN,
          extra: [ld(9, kv('x', overrun(6, Buffer.alloc(0), 1, ld(1, 'k'))))],
        }),
      ]),
    }
    for (const [what, body] of Object.entries(cases)) {
      const result = outcome(decodeTraceRequest, body)
      expect(result, what).toBeInstanceOf(BadRequestError)
      expect((result as BadRequestError).code, what).toBe('invalid_protobuf')
    }
  })

  it('refuses a log record child that runs past the record', () => {
    const record = Buffer.concat([f64(1, BigInt(Date.now()) * 1_000_000n), ld(5, str('hello'))])
    const scope = ld(1, ld(1, 'probe-scope'))
    const resource = ld(1, ld(1, kv('service.name', str('svc'))))
    for (const child of [5, 6]) {
      const body = ld(
        1,
        Buffer.concat([resource, ld(2, Buffer.concat([scope, overrun(2, record, child, str('x'))]))]),
      )
      expect(outcome(decodeLogsRequest, body), `field ${child}`).toBeInstanceOf(BadRequestError)
    }
    expect(outcome(decodeLogsRequest, logsRequest([record]))).toHaveLength(1)
  })

  it('reads a value nested to the limit, and a string value followed by another field as its last', () => {
    let nested = str('leaf')
    for (let i = 0; i < 30; i++) nested = ld(5, ld(1, nested))
    // Protobuf's rule for a oneof set twice: the last field read wins.
    const twice = Buffer.concat([str('first'), Buffer.from([(3 << 3) | 0]), varint(7)])
    const body = traceRequest([
      spanFields({
        traceId: TRACE,
        spanId: SPAN,
        extra: [ld(9, kv('deep', nested)), ld(9, kv('twice', twice))],
      }),
    ])
    const [span] = decodeTraceRequest(body)
    expect(span?.attributes.deep).toBe(`${'['.repeat(29)}["leaf"]${']'.repeat(29)}`)
    expect(span?.attributes.twice).toBe('7')
  })

  it('either decodes or refuses with a 400 whatever bytes of a real request are changed', () => {
    const good = Buffer.from(
      ProtobufTraceSerializer.serializeRequest(
        [1, 2, 3].flatMap((n) => orderTrace(n, Date.now())),
      ) as Uint8Array,
    )
    expect(decodeTraceRequest(good).length).toBeGreaterThan(0)
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed
    }
    let refused = 0
    for (let i = 0; i < 3000; i++) {
      const bad = Buffer.from(good)
      for (let j = 1 + (random() % 4); j > 0; j--) bad[random() % bad.length] = random() & 0xff
      const result = outcome(decodeTraceRequest, bad)
      if (result instanceof BadRequestError) refused++
      else expect(Array.isArray(result)).toBe(true)
    }
    // Most random changes break a length or a tag, and are refused.
    expect(refused).toBeGreaterThan(300)
  })
})
