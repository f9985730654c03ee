import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createToken } from '../../auth/tokens.ts'
import { sql } from '../../store/sql.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * The api's store reads are queued as their caller's (store/read-lanes.ts): counted per token, so
 * one token asking more at once than the store answers is told to slow down, and nobody else is.
 * One read at a time per caller makes it visible.
 */
let sb: TestSignalbox
let agent: string
let other: string
beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens', SIGNALBOX_READS_PER_CALLER: '1' })
  const token = (name: string) =>
    createToken(sb.store, { name, kind: 'personal', role: 'support', createdBy: 'test' }).then((t) => t.token)
  agent = await token('agent')
  other = await token('other agent')
})
afterAll(() => sb.close())

const get = (path: string, token = agent) =>
  fetch(`${sb.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })

describe("the api's reads, counted per caller", () => {
  it('lets a request in whole however much it reads at once', async () => {
    // The system map reads its edges and its services side by side: two reads at once.
    expect((await get('/api/systems/map')).status).toBe(200)
  })

  it("refuses a token's second request while its first holds reads, with 429 and when to come back, and nobody else's", async () => {
    // The store's read slots held by the process's own reads, so the requests below queue up.
    const slots = sb.store.mode === 'server' ? 8 : 1
    const held = Array.from({ length: slots }, () =>
      sb.store.query(sql`SELECT sum(sleepEachRow(0.05)) AS s FROM numbers(10) WHERE number < ${10}`),
    )
    const answers = await Promise.all([
      get('/api/systems/map'),
      get('/api/systems/map'),
      get('/api/systems/map', other),
    ])
    await Promise.all(held)
    // Whichever of the agent's two came second is refused whole; the other agent's goes ahead.
    const [admitted, refused] = answers.slice(0, 2).sort((a, b) => a.status - b.status) as [
      Response,
      Response,
    ]
    expect([admitted.status, refused.status]).toEqual([200, 429])
    expect(refused.headers.get('retry-after')).toBe('1')
    expect((await refused.json()).error).toMatchObject({ code: 'too_many_reads' })
    expect(answers[2]?.status).toBe(200)
  })
})
