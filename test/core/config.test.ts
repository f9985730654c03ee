import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../core/config.ts'
import { ConfigError } from '../../core/errors.ts'

const load = (env: Record<string, string>) =>
  loadConfig({ SIGNALBOX_DATA_DIR: 'data', ...env }, { readDotEnv: false })

describe('settings', () => {
  it('refuse a callback probe interval a timer cannot hold (over 2^31 ms it would fire without pause)', () => {
    expect(() => load({ SIGNALBOX_CALLBACK_PROBE_SECONDS: '3000000' })).toThrow(ConfigError)
    expect(() => load({ SIGNALBOX_CALLBACK_PROBE_SECONDS: '3000000' })).toThrow(
      /SIGNALBOX_CALLBACK_PROBE_SECONDS/,
    )
    expect(load({ SIGNALBOX_CALLBACK_PROBE_SECONDS: '86400' }).replay.probeEveryMs).toBe(86_400_000)
  })
})
