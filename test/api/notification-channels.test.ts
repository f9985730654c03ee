import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

// Variables of this test's own, so no other setting of the machine can make a channel look set.
const HOOK = `SBX_TEST_HOOK_${process.pid}`
const SLACK = `SBX_TEST_SLACK_${process.pid}`
const ALERTS = `
route:
  receiver: default
receivers:
  default:
    - webhook: { url_env: ${HOOK} }
  on-call:
    - slack: { url_env: ${SLACK} }
    - webhook: { url: "https://hooks.example.com/fixed" }
`

let sb: TestSignalbox
beforeAll(async () => {
  // The shipped configuration with these receivers.
  const dir = mkdtempSync(join(tmpdir(), 'signalbox-channels-'))
  cpSync(join(import.meta.dirname, '../../config'), dir, { recursive: true })
  writeFileSync(join(dir, 'alerts.yaml'), ALERTS)
  sb = await startSignalbox({ SIGNALBOX_CONFIG_DIR: dir })
})
afterAll(async () => {
  await sb?.close()
})

interface Channels {
  channels: Array<{ receiver: string; channel: string; configured: boolean; missing: string | null }>
  unconfigured: number
  nobodyNotified: boolean
}
const channels = async () => {
  const res = await fetch(`${sb.apiUrl}/api/notification-channels`)
  expect(res.status).toBe(200)
  return (await res.json()) as Channels
}

describe('GET /api/notification-channels', () => {
  it('names each channel whose setting is missing, before any alert fires', async () => {
    const before = await channels()
    expect(before.channels).toEqual([
      { receiver: 'default', channel: 'webhook', configured: false, missing: `${HOOK} is not set` },
      { receiver: 'on-call', channel: 'slack', configured: false, missing: `${SLACK} is not set` },
      { receiver: 'on-call', channel: 'webhook', configured: true, missing: null },
    ])
    expect(before).toMatchObject({ unconfigured: 2, nobodyNotified: false })
  })

  it('counts a channel as configured once its variable is set (no value is ever answered)', async () => {
    process.env[HOOK] = 'https://hooks.example.com/secret-path'
    onTestFinished(() => {
      delete process.env[HOOK]
    })
    const after = await channels()
    expect(after.unconfigured).toBe(1)
    expect(after.channels[0]).toMatchObject({ receiver: 'default', configured: true, missing: null })
    expect(JSON.stringify(after)).not.toContain('secret-path')
  })
})
