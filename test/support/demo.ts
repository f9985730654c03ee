import { afterAll, beforeAll } from 'vitest'
import { type Demo, startDemo } from '../../connectors/demo.ts'
import { NO_TRACKING_FAULTS } from '../../connectors/estate/carrier.ts'
import { type Faults, NO_FAULTS } from '../../connectors/estate/faults.ts'
import type { Estate } from '../../connectors/estate/index.ts'
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
    quietEstate(fixture.demo.estate)
  })
  afterAll(async () => {
    await fixture.demo?.close()
    await fixture.sb?.close()
  })
  return fixture
}

/**
 * Turns off every fault the simulated estate can inject: each simulator's, found rather than listed
 * (also inside a record of them, like the sales channels) so a system added to the estate later is
 * quiet too, and the carrier's tracking troubles. The demo starts with low everyday rates
 * (DEMO_ESTATE_FAULTS in connectors/demo.ts); a test then sets only the faults it means.
 */
export function quietEstate(estate: Estate): void {
  const parts = Object.values(estate).flatMap((part) => (isRecord(part) ? Object.values(part) : [part]))
  for (const part of parts) if (hasFaults(part)) part.faults = { ...NO_FAULTS }
  // Tracking webhooks go wrong on the carrier's own rates, apart from its label API's faults.
  estate.carrier.tracking = { ...NO_TRACKING_FAULTS }
}

/** A plain object grouping parts of the estate (channels, urls), not a simulator. */
const isRecord = (part: unknown): part is Record<string, unknown> =>
  typeof part === 'object' && part !== null && Object.getPrototypeOf(part) === Object.prototype

const hasFaults = (part: unknown): part is { faults: Faults } =>
  typeof part === 'object' && part !== null && 'faults' in part
