import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, signalbox } from '../support/cli.ts'

const cwd = mkdtempSync(join(tmpdir(), 'signalbox-cli-errors-'))
afterAll(() => rmSync(cwd, { recursive: true, force: true }))

const STACK = /\n\s+at /

describe('signalbox load with nothing listening', () => {
  it('reads the ports from .env like start, names the URL it tried and what to do, without a stack', async () => {
    const [api, collector] = [await freePort(), await freePort()]
    writeFileSync(join(cwd, '.env'), `SIGNALBOX_HTTP_PORT=${api}\nSIGNALBOX_OTLP_HTTP_PORT=${collector}\n`)
    const r = await signalbox(['load', '--scenario', 'steady', '--seconds', '1'], { cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`nothing answers at http://127.0.0.1:${api} (the api`)
    expect(r.stderr).toContain('start Signalbox first: `npm start`')
    expect(r.stderr).not.toMatch(STACK)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)

    const verbose = await signalbox(['load', '--scenario', 'steady', '--seconds', '1', '--verbose'], { cwd })
    expect(verbose.code).toBe(1)
    expect(verbose.stderr).toMatch(STACK)
    expect(verbose.stderr).toContain('ECONNREFUSED')
  })
})

describe('signalbox token with a bad option', () => {
  it('names the option and the values it takes, and exits 2 before touching the store', async () => {
    const dataDir = join(cwd, 'data')
    const r = await signalbox(['token', 'create', '--name', 'x', '--role', 'boss'], {
      cwd,
      env: { SIGNALBOX_DATA_DIR: dataDir },
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--role: 'boss' is not one of viewer, support, operator, admin")
    expect(r.stderr).not.toMatch(STACK)
  })
})

describe('signalbox load with a seed that is not a number', () => {
  it('says so and exits 2, rather than seeding every simulator with 0', async () => {
    const r = await signalbox(['load', '--scenario', 'steady', '--seed', 'abc'], { cwd })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--seed: a whole number')
    expect(r.stderr).not.toMatch(STACK)
  })
})
