import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { mapPayload } from '../../collector/webhooks/map.ts'
import { signBody, signedBy } from '../../collector/webhooks/signature.ts'
import { ConfigError } from '../../core/errors.ts'
import { loadWebhooks } from '../../core/webhooks.ts'

const shipped = loadWebhooks(join(import.meta.dirname, '../../config'), {})
const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A config dir holding only this webhooks.yaml. */
function configWith(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'signalbox-webhooks-'))
  dirs.push(dir)
  writeFileSync(join(dir, 'webhooks.yaml'), yaml)
  return dir
}
const bindings = { topic: 'x', webhookId: 'w-1', headers: {} }

describe('webhook mappings (webhooks.yaml)', () => {
  it('ships Shopify, a generic source and the carrier, with no secret read from the file', () => {
    expect([...shipped.sources.keys()]).toEqual(['shopify', 'generic', 'carrier'])
    expect(shipped.sources.get('shopify')?.secret).toBeUndefined()
    const withSecret = loadWebhooks(join(import.meta.dirname, '../../config'), {
      SIGNALBOX_WEBHOOK_SECRET_SHOPIFY: 's3cret',
    })
    expect(withSecret.sources.get('shopify')?.secret).toBe('s3cret')
  })

  it('the carrier mapping makes `delivered` the order’s delivery and the rest its shipment’s tracking', async () => {
    const tracking = shipped.sources.get('carrier')?.topics.get('tracking.updated')
    expect(tracking).toBeDefined()
    const update = (status: string) => ({
      id: 'trk_1',
      event: 'tracking.updated',
      tracking_number: 'PX1000000000GB',
      status,
      reference: 'SO-1042',
      shipment_reference: 'SHP-SO-1042',
      occurred_at: '2026-12-01T10:00:00.000Z',
      detail: 'x',
    })
    const map = (status: string) =>
      mapPayload(tracking as NonNullable<typeof tracking>, update(status), bindings)
    const extensions = {
      orderid: 'SO-1042',
      shipmentid: 'SHP-SO-1042',
      system: 'carrier',
      flow: 'order_to_cash',
    }
    expect(await map('delivered')).toMatchObject({
      ok: true,
      event: {
        type: 'retail.order.delivered',
        subject: 'SO-1042',
        extensions,
        data: { shipment: 'SHP-SO-1042' },
      },
    })
    for (const status of ['in_transit', 'out_for_delivery', 'exception'])
      expect(await map(status)).toMatchObject({
        ok: true,
        event: { type: `retail.shipment.${status}`, subject: 'SHP-SO-1042', extensions },
      })
    expect((await map('pre_transit')).ok).toBe(false)
  })

  it('the generic mapping takes an event the payload names itself', async () => {
    const generic = shipped.sources.get('generic')?.topics.get('*')
    expect(generic).toBeDefined()
    const outcome = await mapPayload(
      generic as NonNullable<typeof generic>,
      {
        type: 'retail.order.delivered',
        subject: 1042,
        data: { carrier: 'DHL' },
        extensions: { channel: 'pos' },
      },
      bindings,
    )
    expect(outcome).toEqual({
      ok: true,
      event: {
        type: 'retail.order.delivered',
        subject: '1042',
        data: { carrier: 'DHL' },
        extensions: { channel: 'pos' },
      },
    })
    const notAnEvent = await mapPayload(generic as NonNullable<typeof generic>, { hello: 'world' }, bindings)
    expect(notAnEvent.ok).toBe(false)
  })

  it('bounds a mapping’s evaluation: a loop times out, a runaway recursion and a huge sequence stop', async () => {
    const dir = configWith(`
limits: { timeoutMs: 50, maxDepth: 50, maxSequence: 1000 }
sources:
  loop:
    secretEnv: LOOP_SECRET
    signatureHeader: X-Sig
    eventSource: urn:test
    topics:
      # tail-recursive: no stack grows, only the clock stops it
      forever: '( $f := function($i) { $f($i + 1) }; $f(0) )'
      deep: '( $f := function($i) { 1 + $f($i + 1) }; $f(0) )'
      huge: '{ "type": "retail.order.created", "subject": "x", "data": { "n": $count([1..100000]) } }'
`)
    const { sources } = loadWebhooks(dir, {})
    const topics = sources.get('loop')?.topics
    const run = (topic: string) => mapPayload(topics?.get(topic) as never, { items: [1, 2, 3] }, bindings)
    const started = Date.now()
    const forever = await run('forever')
    expect(forever).toMatchObject({ ok: false, reason: expect.stringMatching(/timeout|stack/i) })
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(await run('deep')).toMatchObject({ ok: false, reason: expect.stringMatching(/stack|timeout/i) })
    expect(await run('huge')).toMatchObject({ ok: false, reason: expect.stringMatching(/sequence/i) })
  })

  it('stops start-up on a mapping that does not parse, naming the file, line and topic', () => {
    const dir = configWith(`
sources:
  shop:
    secretEnv: SHOP_SECRET
    signatureHeader: X-Sig
    eventSource: urn:test
    topics:
      orders/create: '{ "type": '
`)
    expect(() => loadWebhooks(dir, {})).toThrow(ConfigError)
    expect(() => loadWebhooks(dir, {})).toThrow(/webhooks\.yaml:\d+: sources\.shop\.topics\.orders\/create: /)
  })
})

describe('webhook signatures', () => {
  it('match the HMAC-SHA256 of the exact bytes, in the source’s encoding', () => {
    const body = Buffer.from('{"id":1}')
    expect(signedBy(body, 'k', signBody(body, 'k'), 'base64')).toBe(true)
    expect(signedBy(body, 'k', signBody(body, 'k', 'hex'), 'hex')).toBe(true)
    expect(signedBy(Buffer.from('{"id": 1}'), 'k', signBody(body, 'k'), 'base64')).toBe(false)
    expect(signedBy(body, 'k', signBody(body, 'k').slice(0, 20), 'base64')).toBe(false)
    expect(signedBy(body, 'k', undefined, 'base64')).toBe(false)
  })
})
