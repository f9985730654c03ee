import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerConnector } from '../../store/queries/connectors.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * A connector registers its own callback URL with its ingestion key, and Signalbox then POSTs signed
 * requests there. With SIGNALBOX_CALLBACK_HOSTS set, a callback must name one of those hosts: a key
 * cannot point Signalbox at an internal address (a metadata service, an admin port).
 */

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_CALLBACK_HOSTS: 'connectors.internal.example, *.retail.example' })
})
afterAll(async () => {
  await sb?.close()
})

const register = (id: string, callbackUrl: string) =>
  fetch(`${sb.apiUrl}/api/connectors`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, system: 'erp', flows: ['order_to_cash'], callbackUrl }),
  })

describe('callback hosts', () => {
  it('refuses a callback on a host not listed, and takes one that is', async () => {
    for (const url of [
      'http://127.0.0.1:9/cb',
      'http://169.254.169.254/latest',
      'https://retail.example.evil.test/cb',
    ]) {
      const res = await register('somewhere-else', url)
      expect(res.status).toBe(400)
      expect(await res.text()).toContain('SIGNALBOX_CALLBACK_HOSTS')
    }
    expect((await register('erp-sync', 'https://erp.retail.example/callbacks')).status).toBe(201)
    expect((await register('pos-sync', 'http://connectors.internal.example:8080/callbacks')).status).toBe(201)
  })

  it('calls no callback stored before the setting that is outside it: the replay is refused, the probe not sent', async () => {
    await registerConnector(sb.store, {
      id: 'older',
      system: 'erp',
      flows: ['order_to_cash'],
      callbackUrl: 'http://127.0.0.1:9/cb',
      steps: [{ name: 'capture', flow: 'order_to_cash', stage: '', schema: null, resync: true }],
    })
    const probe = await fetch(`${sb.apiUrl}/api/connectors/older/probe`, { method: 'POST' })
    expect(((await probe.json()) as { callback: { error: string } }).callback.error).toContain(
      'SIGNALBOX_CALLBACK_HOSTS',
    )
    const resync = await fetch(`${sb.apiUrl}/api/entities/order/SO-1/resync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signalbox-user': 'ops@example.com' },
      body: JSON.stringify({ reason: 'check', connector: 'older' }),
    })
    expect(resync.status).toBe(409)
    expect(await resync.text()).toContain('SIGNALBOX_CALLBACK_HOSTS')
  })
})
