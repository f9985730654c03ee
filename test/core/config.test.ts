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

  it('give server requests a minute of silence unless told, and refuse a timeout a timer cannot hold', () => {
    expect(load({}).clickhouse.requestTimeoutSeconds).toBe(60)
    expect(load({ CLICKHOUSE_REQUEST_TIMEOUT_SECONDS: '300' }).clickhouse.requestTimeoutSeconds).toBe(300)
    // Ten times it is the long statements' silence, which a Node timer must hold (under 2^31 ms): a day
    // at most keeps it there with room to spare.
    expect(() => load({ CLICKHOUSE_REQUEST_TIMEOUT_SECONDS: '100000' })).toThrow(
      /CLICKHOUSE_REQUEST_TIMEOUT_SECONDS/,
    )
    expect(() => load({ CLICKHOUSE_REQUEST_TIMEOUT_SECONDS: '0' })).toThrow(ConfigError)
  })

  it("give a sender 30 s for its whole request at the collector unless told, a slow link's upload more", () => {
    expect(load({}).ingest.requestTimeoutMs).toBe(30_000)
    expect(load({ SIGNALBOX_REQUEST_TIMEOUT_SECONDS: '120' }).ingest.requestTimeoutMs).toBe(120_000)
    // Shorter than the 10 s given to headers, or past an hour of one upload holding its bytes: refused.
    expect(() => load({ SIGNALBOX_REQUEST_TIMEOUT_SECONDS: '5' })).toThrow(
      /SIGNALBOX_REQUEST_TIMEOUT_SECONDS/,
    )
    expect(() => load({ SIGNALBOX_REQUEST_TIMEOUT_SECONDS: '7200' })).toThrow(ConfigError)
  })

  it('hold an api caller to 64 store reads unless told, and refuse none or an unbounded number', () => {
    expect(load({}).query.readsPerCaller).toBe(64)
    expect(load({ SIGNALBOX_READS_PER_CALLER: '16' }).query.readsPerCaller).toBe(16)
    expect(() => load({ SIGNALBOX_READS_PER_CALLER: '0' })).toThrow(/SIGNALBOX_READS_PER_CALLER/)
    expect(() => load({ SIGNALBOX_READS_PER_CALLER: '1e9' })).toThrow(ConfigError)
  })

  it('read the callback hosts as names or *.domain wildcards, lower-cased, and refuse anything else', () => {
    expect(load({}).replay.callbackHosts).toEqual([])
    expect(load({ SIGNALBOX_CALLBACK_HOSTS: ' ERP.example ,*.retail.example' }).replay.callbackHosts).toEqual(
      ['erp.example', '*.retail.example'],
    )
    expect(() => load({ SIGNALBOX_CALLBACK_HOSTS: 'http://erp.example/' })).toThrow(
      /SIGNALBOX_CALLBACK_HOSTS/,
    )
  })
})
