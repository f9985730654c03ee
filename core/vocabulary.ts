/**
 * The business vocabulary every part of Signalbox shares: entity types, the span attributes that carry
 * business keys and integration context, and the CloudEvents types of the default flows
 * (docs/telemetry.md, "Business keys").
 */

/**
 * The entity types Signalbox knows by itself: their key attributes and CloudEvents extensions are
 * below. A flow in `flows.yaml` may follow another (`transfer_order`): its events name it by type
 * and subject, and `entity-keys.yaml` may list the span attributes that carry its id.
 */
export const ENTITY_TYPES = ['order', 'return', 'sku', 'shipment', 'purchase_order'] as const
export type EntityType = (typeof ENTITY_TYPES)[number]

/** How an entity type is spelled, built in or configured: lower-case letters, digits and underscores. */
export const ENTITY_TYPE_NAME = /^[a-z][a-z0-9_]*$/

/** Canonical span attribute names. Aliases for them are configured in `config/entity-keys.yaml`. */
export const KEY_ATTRIBUTES = {
  order: 'retail.order.id',
  return: 'retail.return.id',
  sku: 'retail.sku',
  shipment: 'retail.shipment.id',
  purchase_order: 'retail.purchase_order.id',
} as const satisfies Record<EntityType, string>

export const LOCATION_ATTRIBUTE = 'retail.location.id'

export const INTEGRATION_ATTRIBUTES = {
  connector: 'integration.connector',
  flow: 'integration.flow',
  system: 'integration.system',
  stage: 'integration.stage',
} as const

/** CloudEvents extension names (lower-case alphanumerics, per the CloudEvents spec) for business keys. */
export const KEY_EXTENSIONS = {
  order: 'orderid',
  return: 'returnid',
  sku: 'sku',
  shipment: 'shipmentid',
  purchase_order: 'purchaseorderid',
} as const satisfies Record<EntityType, string>

export const LOCATION_EXTENSION = 'locationid'

/** A replay's id (the callback's `webhook-id`) on the spans and business events it produces. */
export const REPLAY_ATTRIBUTE = 'signalbox.replay.id'
export const REPLAY_EXTENSION = 'replayid'

/**
 * On a failed sync run: `data` when a system refused the data sent (not counted against the
 * integration's success SLO), `system` otherwise.
 */
export const ERROR_KIND_ATTRIBUTE = 'signalbox.error.kind'
/** On a client span: the attempt failed and was retried (its outcome is the next attempt's). */
export const RETRIED_ATTRIBUTE = 'signalbox.call.retried'
/** HTTP answers that say the request's data was wrong (not auth, timeouts or throttling). */
export const DATA_ERROR_STATUSES = ['400', '404', '409', '410', '422']

/**
 * `retail.order.*` events have the order id as subject; likewise returns; inventory events are keyed
 * by SKU. Configured entity types follow the same pattern (`retail.transfer_order.*`): see
 * `eventEntityOf` in core/flows.ts.
 */
export const EVENT_TYPE_PREFIX_ENTITY: ReadonlyArray<readonly [prefix: string, entity: EntityType]> = [
  ['retail.order.', 'order'],
  ['retail.return.', 'return'],
  ['retail.inventory.', 'sku'],
  ['retail.price.', 'sku'],
  ['retail.promotion.', 'sku'],
  ['retail.shipment.', 'shipment'],
  ['retail.purchase_order.', 'purchase_order'],
]

/**
 * The inventory events by what they mean, for the code that reads them by meaning (the inventory view,
 * the freshness SLI, the oversell alert signal) and the connector that sends them.
 */
export const INVENTORY_EVENTS = {
  /** The source of truth changed: data has `sku`, `location`, `on_hand`, `available`. */
  adjusted: 'retail.inventory.adjusted',
  reserved: 'retail.inventory.reserved',
  released: 'retail.inventory.released',
  /** A channel was told a quantity: data has `channel`, `quantity`. */
  published: 'retail.inventory.published',
} as const

/**
 * The price and promotion events by what they mean (docs/telemetry.md, "Prices and promotions"), for
 * the price views, the conflicts alert rule and the connector that sends them. All carry extension `sku`.
 */
export const PRICE_EVENTS = {
  /** The source of truth changed a price: data has `sku`, `priceList`, `price`, `currency`, `effectiveAt`. */
  changed: 'retail.price.changed',
  /** A channel was told a price (extension `channel`): data has `sku`, `priceList`, `price`, `promotionId?`. */
  published: 'retail.price.published',
  /** data has `promotionId`, `skus`, `channels`, `kind`, `value`, `startsAt`, `endsAt`. */
  promotionStarted: 'retail.promotion.started',
  promotionEnded: 'retail.promotion.ended',
} as const

/**
 * The purchase-order events by what they mean (docs/telemetry.md, "Purchase orders"), for the receipt
 * views and the procure-to-receive connector. Each has the purchase order id as its subject.
 */
export const PURCHASE_ORDER_EVENTS = {
  /** The ERP raised it: data has `supplier`, `location`, `lines` (`sku`, `quantity`, `unitCost`), `currency`. */
  created: 'retail.purchase_order.created',
  /** Sent to the supplier portal. */
  sent: 'retail.purchase_order.sent',
  /** The supplier confirmed it (data `promisedAt`). */
  acknowledged: 'retail.purchase_order.acknowledged',
  /** The supplier's advance shipping notice: data has `asn`, `lines` (`sku`, `quantity`). */
  shipped: 'retail.purchase_order.shipped',
  /**
   * The warehouse's goods receipt: data has `receipt`, `supplier`, `location`, `asn` and `lines`
   * (`sku`, `ordered`, `shipped`, `received`, `unitCost`), from which receipt discrepancies are read.
   */
  received: 'retail.purchase_order.received',
  /** The ERP's three-way match of order, receipt and supplier invoice: data `invoice`, `matched`, `variance`. */
  matched: 'retail.purchase_order.matched',
  /** The receipt is in stock and published; the purchase order is closed. */
  closed: 'retail.purchase_order.closed',
  cancelled: 'retail.purchase_order.cancelled',
} as const

/**
 * A scheduled batch run (docs/telemetry.md, "Batch runs"): a store's nightly sales posting, the ERP's
 * daily export. Subject: the run id; data has `job`, `runId`, `businessDay`, `rows`, `rejected`.
 */
export const BATCH_EVENTS = {
  started: 'retail.batch.started',
  completed: 'retail.batch.completed',
  failed: 'retail.batch.failed',
} as const

/**
 * A deploy pipeline's announcement that an integration (its connector id, or a service's name) runs a
 * new version: data has `integration` and `version`. The catalog's changes of version read it
 * (docs/governance.md).
 */
export const INTEGRATION_EVENTS = {
  deployed: 'retail.integration.deployed',
} as const

/**
 * A parcel's tracking (docs/telemetry.md, "Tax, carrier and loyalty"), as the carrier's webhooks are
 * mapped (config/webhooks.yaml, source `carrier`): subject the shipment id, extension `orderid`. Its
 * delivery is the order's own `retail.order.delivered`.
 */
export const SHIPMENT_EVENTS = {
  inTransit: 'retail.shipment.in_transit',
  outForDelivery: 'retail.shipment.out_for_delivery',
  /** A delivery step went wrong: data `detail` says what. */
  exception: 'retail.shipment.exception',
} as const

export const EVENT_TYPES = {
  order: [
    'created',
    'tax_calculated',
    'payment_authorized',
    'inventory_reserved',
    'erp_posted',
    'shipped',
    'ready_for_pickup',
    'delivered',
    'picked_up',
    'invoiced',
    'loyalty_accrued',
    'cancelled',
  ].map((s) => `retail.order.${s}`),
  return: ['received', 'refund_issued', 'loyalty_reversed', 'credit_posted', 'restocked', 'disposed'].map(
    (s) => `retail.return.${s}`,
  ),
  shipment: Object.values(SHIPMENT_EVENTS),
  inventory: Object.values(INVENTORY_EVENTS),
  price: Object.values(PRICE_EVENTS),
  purchase_order: Object.values(PURCHASE_ORDER_EVENTS),
  batch: Object.values(BATCH_EVENTS),
  integration: Object.values(INTEGRATION_EVENTS),
} as const

/** One business key found on a span, log or event. */
export interface EntityRef {
  readonly type: EntityType
  readonly id: string
}
