import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { describe, expect, it } from 'vitest'
import { decodeTraceRequest } from '../../collector/otlp/decode-proto.ts'
import { MAX_INTERNED, StringTable } from '../../collector/otlp/string-table.ts'
import { readableSpan } from '../support/readable-span.ts'

/*
 * The table hands out strings it kept for bytes seen before. What it must never do is hand out the
 * wrong one: a slot shared by two strings (it has 4,096 for any number of strings), a string of the
 * same length, non-ASCII bytes, or a string past the length it keeps.
 */

const bytes = (s: string) => Buffer.from(s, 'utf8')

describe('the decoder string table', () => {
  it('gives back each string exactly, however many share its slots', () => {
    const table = new StringTable()
    // 50,000 strings in 4,096 slots, all of one length, read in an order that keeps evicting.
    const words = Array.from({ length: 50_000 }, (_, i) => `attr.${i.toString(36).padStart(6, '0')}`)
    for (let round = 0; round < 3; round++)
      for (let i = 0; i < words.length; i++) {
        const w = words[(i * 7919 + round) % words.length] as string
        const buf = bytes(`..${w}..`)
        expect(table.get(buf, 2, 2 + w.length)).toBe(w)
      }
  })

  it('reads strings from anywhere in a larger buffer, the empty one included', () => {
    const table = new StringTable()
    const buf = bytes('http.methodPOSThttp.method')
    expect(table.get(buf, 0, 11)).toBe('http.method')
    expect(table.get(buf, 11, 15)).toBe('POST')
    expect(table.get(buf, 15, 26)).toBe('http.method')
    expect(table.get(buf, 4, 4)).toBe('')
  })

  it('leaves non-ASCII and long strings to the caller', () => {
    const table = new StringTable()
    const accented = bytes('café')
    expect(table.get(accented, 0, accented.length)).toBeUndefined()
    const long = bytes('k'.repeat(MAX_INTERNED + 1))
    expect(table.get(long, 0, long.length)).toBeUndefined()
    expect(table.get(long, 0, MAX_INTERNED)).toBe('k'.repeat(MAX_INTERNED))
  })

  it('decodes OTLP protobuf exactly as sent, repeated, accented and colliding keys and values', () => {
    const attributes: Record<string, string | number> = {
      'http.request.method': 'POST',
      'retail.order.id': 'SO-1000042',
      'clé.accentuée': 'valeur é',
      'emoji.key': '🛒',
      ['k'.repeat(MAX_INTERNED + 5)]: 'v'.repeat(MAX_INTERNED + 5),
      'http.response.status_code': 201,
    }
    // Many distinct short keys and values: slots are shared and evicted within one request.
    for (let i = 0; i < 6_000; i++) attributes[`x.${i}`] = `v${i % 977}`
    const spans = Array.from({ length: 3 }, (_, n) =>
      readableSpan({
        traceId: `${n}`.padStart(32, 'a'),
        spanId: `${n}`.padStart(16, 'b'),
        name: n === 1 ? 'commande passée' : 'POST /reservations',
        startMs: 1_700_000_000_000 + n,
        durationMs: 5,
        attributes,
        events: [{ name: 'retry', offsetMs: 1, attributes: { attempt: 'first' } }],
      }),
    )
    const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array)
    // Twice: the second decode is served from the table.
    for (let pass = 0; pass < 2; pass++) {
      const decoded = decodeTraceRequest(body)
      expect(decoded.map((s) => s.name)).toEqual([
        'POST /reservations',
        'commande passée',
        'POST /reservations',
      ])
      for (const s of decoded) {
        expect(s.attributes).toEqual(
          Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)])),
        )
        expect(s.events.map((e) => [e.name, e.attributes])).toEqual([['retry', { attempt: 'first' }]])
      }
    }
  })
})
