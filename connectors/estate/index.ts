import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import { Hono } from 'hono'
import { INTEGRATION_ATTRIBUTES } from '../../core/vocabulary.ts'
import { type ConnectorTelemetry, serviceTelemetry } from '../sdk/index.ts'
import { CarrierSimulator } from './carrier.ts'
import { ChannelSimulator } from './channel.ts'
import { CrmSimulator } from './crm.ts'
import { ErpSimulator } from './erp.ts'
import { type Incidents, incidentsFor } from './incidents.ts'
import { LoyaltySimulator } from './loyalty.ts'
import { NotificationSimulator } from './notification.ts'
import { OmsSimulator } from './oms.ts'
import { PaymentSimulator } from './payment.ts'
import { PricingSimulator } from './pricing.ts'
import { ReplenishmentPlanner } from './purchasing.ts'
import { newRunId } from './run.ts'
import { type Served, serveOnLoopback } from './serve.ts'
import { StorefrontSimulator } from './storefront.ts'
import { SupplierPortalSimulator } from './supplier-portal.ts'
import { TaxSimulator } from './tax.ts'
import { serverSpans } from './telemetry.ts'
import { WmsSimulator } from './wms.ts'

export const SALES_CHANNELS = ['storefront', 'marketplace', 'pos'] as const
export type SalesChannel = (typeof SALES_CHANNELS)[number]

export interface EstateOptions {
  /** Marks every id the estate makes (estate/run.ts); a new one when not given. */
  readonly run?: string
  /** Sets up the troubles of incidents.ts (credit hold, replaced item code, empty pick face). */
  readonly incidents?: boolean
}

export interface Estate {
  /** The run its ids carry. */
  readonly run: string
  /** The troubles it was set up with, if any. */
  readonly incidents: Incidents | undefined
  readonly storefront: StorefrontSimulator
  readonly payment: PaymentSimulator
  readonly oms: OmsSimulator
  readonly erp: ErpSimulator
  readonly wms: WmsSimulator
  readonly notification: NotificationSimulator
  readonly crm: CrmSimulator
  /** The tax engine, called at capture: an order cannot be taken without its tax. */
  readonly tax: TaxSimulator
  /** The parcel carrier: labels at fulfilment, tracking webhooks until delivered. */
  readonly carrier: CarrierSimulator
  /** The loyalty system: points accrued at invoice, reversed at refund. */
  readonly loyalty: LoyaltySimulator
  /** The pricing service: prices per price list and promotions (the source of truth). */
  readonly pricing: PricingSimulator
  /** The suppliers' portal: purchase orders in, acknowledgements and ASNs out; deliveries go to the WMS. */
  readonly supplierPortal: SupplierPortalSimulator
  /** The purchase orders the ERP raises for replenishment. */
  readonly replenishment: ReplenishmentPlanner
  /** Sales channels' stock APIs, by channel. */
  readonly channels: Readonly<Record<SalesChannel, ChannelSimulator>>
  readonly urls: {
    /** The storefront's order API (the source of orders). */
    readonly orders: string
    readonly payment: string
    readonly oms: string
    readonly erp: string
    readonly wms: string
    readonly notification: string
    readonly crm: string
    readonly tax: string
    readonly carrier: string
    readonly loyalty: string
    readonly pricing: string
    readonly supplierPortal: string
    readonly channels: Readonly<Record<SalesChannel, string>>
  }
  close(): Promise<void>
}

/**
 * The simulated retail systems, each an HTTP service on loopback. Deterministic for a seed. With a
 * collector URL, each traces the requests it answers under its own service name.
 */
export async function startEstate(
  seed = 1,
  collectorUrl?: string,
  ingestKey?: string,
  options: EstateOptions = {},
): Promise<Estate> {
  const run = options.run ?? newRunId()
  const incidents = options.incidents ? incidentsFor(seed) : undefined
  const payment = new PaymentSimulator(seed + 1)
  const oms = new OmsSimulator(seed + 2)
  const erp = new ErpSimulator(seed + 3)
  const wms = new WmsSimulator(seed + 4)
  const notification = new NotificationSimulator(seed + 6)
  const crm = new CrmSimulator(seed + 7)
  const pricing = new PricingSimulator(seed + 8)
  const supplierPortal = new SupplierPortalSimulator(seed + 9)
  const replenishment = new ReplenishmentPlanner(seed + 13, run)
  const tax = new TaxSimulator(seed + 14)
  const carrier = new CarrierSimulator(seed + 15)
  const loyalty = new LoyaltySimulator(seed + 16)
  // What a supplier ships arrives at the warehouse's dock, whatever its ASN said.
  supplierPortal.onShipped = (delivery) => wms.arrive(delivery)
  const channels = {
    storefront: new ChannelSimulator('storefront', seed + 10),
    marketplace: new ChannelSimulator('marketplace', seed + 11),
    pos: new ChannelSimulator('pos', seed + 12),
  }
  const served: Served[] = []
  const telemetry: ConnectorTelemetry[] = []
  const serveApp = async (app: Hono, system: string) => {
    let traced = app
    if (collectorUrl) {
      // A provider per system, not the global one: this process hosts them all (see telemetry.ts).
      const t = serviceTelemetry(
        collectorUrl,
        {
          [ATTR_SERVICE_NAME]: system,
          [INTEGRATION_ATTRIBUTES.system]: system,
        },
        undefined,
        ingestKey ? { authorization: `Bearer ${ingestKey}` } : {},
      )
      telemetry.push(t)
      traced = new Hono().use(serverSpans(t.tracer, system)).route('/', app)
    }
    const s = await serveOnLoopback(traced)
    served.push(s)
    return s.url
  }
  const storefront = new StorefrontSimulator(seed + 5, { run, incidents })
  if (incidents) {
    erp.creditHolds.add(incidents.creditHoldAccount)
    erp.supersededItems.set(...incidents.superseded)
    wms.emptyPickFaces.add(incidents.awaitingReplenishment)
  }
  const urls = {
    orders: await serveApp(storefront.app, 'storefront'),
    payment: await serveApp(payment.app, 'payment'),
    oms: await serveApp(oms.app, 'oms'),
    erp: await serveApp(erp.app, 'erp'),
    wms: await serveApp(wms.app, 'wms'),
    notification: await serveApp(notification.app, 'notification'),
    crm: await serveApp(crm.app, 'crm'),
    tax: await serveApp(tax.app, 'tax'),
    carrier: await serveApp(carrier.app, 'carrier'),
    loyalty: await serveApp(loyalty.app, 'loyalty'),
    pricing: await serveApp(pricing.app, 'pricing'),
    supplierPortal: await serveApp(supplierPortal.app, 'supplier-portal'),
    channels: {
      storefront: await serveApp(channels.storefront.app, 'storefront'),
      marketplace: await serveApp(channels.marketplace.app, 'marketplace'),
      pos: await serveApp(channels.pos.app, 'pos'),
    },
  }
  return {
    run,
    incidents,
    storefront,
    payment,
    oms,
    erp,
    wms,
    notification,
    crm,
    tax,
    carrier,
    loyalty,
    pricing,
    supplierPortal,
    replenishment,
    channels,
    urls,
    close: async () => {
      await Promise.all(served.map((s) => s.close()))
      await Promise.all(telemetry.map((t) => t.shutdown()))
    },
  }
}
