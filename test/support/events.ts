import { expect } from 'vitest'

/** Posts CloudEvents to the collector as one batch, expecting them all accepted. */
export async function sendEvents(collectorUrl: string, events: object[]): Promise<void> {
  const res = await fetch(`${collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events),
  })
  expect(res.status, await res.clone().text()).toBe(200)
}
