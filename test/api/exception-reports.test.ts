import { afterAll, beforeAll, expect, it } from 'vitest'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(() => sb.close())

const report = (orderId: string) =>
  fetch(`${sb.apiUrl}/api/exceptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      connector: 'order-to-cash',
      flow: 'order_to_cash',
      step: 'post_sales_order',
      entity: { type: 'order', id: orderId },
      payload: { orderId },
      error: { class: 'erp.http_503', message: 'ERP unavailable' },
      attempts: 3,
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
    }),
  })

const listed = async (orderId: string) => {
  const res = await fetch(`${sb.apiUrl}/api/exceptions?connector=order-to-cash&limit=1000`)
  const { exceptions } = (await res.json()) as {
    exceptions: Array<{ entity: { id: string }; occurrences: number; status: string }>
  }
  return exceptions.filter((e) => e.entity.id === orderId)
}

it('counts every report of one failure sent at the same time: none is lost to another', async () => {
  // Workers retrying one order's failure at once, as a storm does.
  const answers = await Promise.all(Array.from({ length: 12 }, () => report('SO-RACE-1')))
  expect(answers.map((a) => a.status)).toEqual(Array(12).fill(201))
  const [exception, ...more] = await listed('SO-RACE-1')
  expect(more).toEqual([])
  expect(exception?.occurrences).toBe(12)
})

it('counts a report that arrives while an operator ignores the same failure', async () => {
  expect((await report('SO-RACE-2')).status).toBe(201)
  const [exception] = await listed('SO-RACE-2')
  const id = (exception as unknown as { id: string }).id
  const [ignored] = await Promise.all([
    fetch(`${sb.apiUrl}/api/exceptions/${id}/ignore`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ops@example.com', reason: 'known ERP maintenance' }),
    }),
    report('SO-RACE-2'),
  ])
  expect(ignored.status).toBe(200)
  const [after] = await listed('SO-RACE-2')
  expect(after?.occurrences).toBe(2)
})
