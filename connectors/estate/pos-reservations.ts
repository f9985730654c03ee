import { CloudEvent } from 'cloudevents'
import { INVENTORY_EVENTS } from '../../core/vocabulary.ts'

/** Which store's till system sends, as the CloudEvents source. */
export const POS_SOURCE = 'urn:retail:pos:STORE-MAN-02'
const STORE = 'STORE-MAN-02'
/** One reservation in this many is sent with its quantity as text: the till's old export format. */
const BROKEN_EVERY = 4

/**
 * A store's till system reserving stock for click-and-collect baskets, straight to Signalbox as
 * `retail.inventory.reserved` CloudEvents. Now and then it sends the quantity as a string
 * (`"2"`), which breaks the event's contract (config/events): the Event contracts page shows what
 * broke, since when, from which source, with an example. Under the shipped `warn` policy the events
 * are still stored.
 */
export class PosReservations {
  private sent = 0

  constructor(
    private readonly collectorUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  /** A basket's line: one of the catalogue's SKUs (SKU-10000…SKU-10499), one to three of it. */
  reserveAny(): Promise<void> {
    const n = this.sent
    return this.reserve(`SKU-${10_000 + ((n * 37) % 500)}`, STORE, 1 + (n % 3))
  }

  async reserve(sku: string, location: string, quantity: number): Promise<void> {
    const n = ++this.sent
    const event = new CloudEvent({
      specversion: '1.0',
      id: `pos-${STORE}-${Date.now()}-${n}`,
      source: POS_SOURCE,
      type: INVENTORY_EVENTS.reserved,
      subject: sku,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: { sku, location, quantity: n % BROKEN_EVERY === 0 ? String(quantity) : quantity },
      sku,
      locationid: location,
      system: 'pos',
    })
    const res = await fetch(`${this.collectorUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', ...this.headers },
      body: JSON.stringify(event.toJSON()),
    })
    await res.arrayBuffer()
  }
}
