import { afterAll, beforeAll } from 'vitest'
import { type Demo, startDemo } from '../../connectors/demo.ts'
import { NO_TRACKING_FAULTS } from '../../connectors/estate/carrier.ts'
import { NO_FAULTS } from '../../connectors/estate/faults.ts'
import { startSignalbox, type TestSignalbox } from './signalbox.ts'

export interface DemoFixture {
  readonly sb: TestSignalbox
  readonly demo: Demo
}

/**
 * Signalbox plus the simulated estate and its connectors for one test file, with no random faults
 * and, unless asked for, none of the estate's standing troubles (tests set the faults they mean), and
 * fast retries. Read the fixture inside tests, after beforeAll.
 */
export function useDemo(
  options: { callbackSecrets?: readonly string[]; env?: Record<string, string>; incidents?: boolean } = {},
): DemoFixture {
  const fixture = {} as { sb: TestSignalbox; demo: Demo }
  beforeAll(async () => {
    // Signalbox signs replays with the first secret; the connectors accept every one given.
    fixture.sb = await startSignalbox({
      ...options.env,
      ...(options.callbackSecrets?.[0] ? { SIGNALBOX_CALLBACK_SECRET: options.callbackSecrets[0] } : {}),
    })
    fixture.demo = await startDemo({
      collectorUrl: fixture.sb.collectorUrl,
      apiUrl: fixture.sb.apiUrl,
      ordersPerMinute: 0,
      callbackSecrets: options.callbackSecrets ?? [fixture.sb.config.replay.callbackSecret],
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
      incidents: options.incidents ?? false,
    })
    const { erp, payment, oms, wms, notification, crm, channels, supplierPortal, tax, carrier, loyalty } =
      fixture.demo.estate
    for (const sim of [
      erp,
      payment,
      oms,
      wms,
      notification,
      crm,
      supplierPortal,
      tax,
      carrier,
      loyalty,
      ...Object.values(channels),
    ])
      sim.faults = { ...NO_FAULTS }
    carrier.tracking = { ...NO_TRACKING_FAULTS }
  })
  afterAll(async () => {
    await fixture.demo?.close()
    await fixture.sb?.close()
  })
  return fixture
}
