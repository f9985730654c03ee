import { randomBytes } from 'node:crypto'
import type { ChildSignalbox } from '../child.ts'
import { get, JSON_TYPE, post, sleep } from './http.ts'
import { newDataDir, startChild, stopChild } from './traffic.ts'

const MB = 1024 * 1024
const PROBE_MS = 20

/** Per MB, a value under 1 MB counting as 1 MB: a fixed cost of any write is not scaled up for small values. */
const perMB = (bytes: number) => Math.max(1, bytes / MB)

const repeat = (unit: string, bytes: number) => unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes)

/** Values built to make the redaction patterns (core/privacy.ts) backtrack, and long values in general. */
export const ADVERSARIAL: ReadonlyArray<readonly [name: string, value: (bytes: number) => string]> = [
  ['email a…a@a…a', (n) => `${'a'.repeat(Math.floor(n / 2))}@${'a'.repeat(n - Math.floor(n / 2) - 1)}`],
  ['many @', (n) => repeat('a@', n)],
  ['phone +1 +1 …', (n) => repeat('+1 ', n)],
  ['card digits', (n) => repeat('4111 1111 ', n)],
  ['iban DE00 + alnum', (n) => `DE00${repeat('A1B2C3D4E5', n - 4)}`],
  ['short e-mails packed', (n) => repeat('a@b.cd ', n)],
  ['plain text', (n) => repeat('lorem ipsum ', n)],
  [
    'random hex',
    (n) =>
      randomBytes(Math.ceil(n / 2))
        .toString('hex')
        .slice(0, n),
  ],
]

function spanWith(value: string): string {
  const start = BigInt(Date.now() - 10_000) * 1_000_000n
  const span = {
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    name: 'POST /notes',
    kind: 2,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + 1_000_000n),
    attributes: [{ key: 'note', value: { stringValue: value } }],
  }
  const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'faults-stall' } }] }
  return JSON.stringify({
    resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'faults' }, spans: [span] }] }],
  })
}

/**
 * The same value as a CloudEvent's data: attribute values are truncated before redaction
 * (SIGNALBOX_MAX_ATTRIBUTE_LENGTH), event data is redacted whole, so it is the path to test at 1 MB.
 */
function eventWith(value: string): string {
  return JSON.stringify({
    specversion: '1.0',
    id: randomBytes(8).toString('hex'),
    source: 'faults-stall',
    type: 'retail.order.created',
    subject: 'SO-STALL',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { note: value },
  })
}

const CARRIERS = [
  { name: 'span attribute', path: '/v1/traces', type: JSON_TYPE, body: spanWith },
  { name: 'event data', path: '/v1/events', type: 'application/cloudevents+json', body: eventWith },
] as const

/** GET /api/health back to back, one every 20 ms; the answer times show how long the event loop stood still. */
export class Probe {
  readonly answers: number[] = []
  private running = true
  private readonly loop: Promise<void>
  constructor(apiUrl: string) {
    this.loop = (async () => {
      while (this.running) {
        const t = performance.now()
        await get(`${apiUrl}/api/health`, 120_000)
        this.answers.push(performance.now())
        await sleep(Math.max(0, PROBE_MS - (performance.now() - t)))
      }
    })()
  }
  /** The longest wait between answers ending in [from, to], less the probe's own period. */
  stall(from: number, to: number): number {
    let longest = 0
    for (let i = 1; i < this.answers.length; i++) {
      const at = this.answers[i] as number
      if (at >= from && at <= to) longest = Math.max(longest, at - (this.answers[i - 1] as number))
    }
    return Math.max(0, longest - PROBE_MS)
  }
  async stop(): Promise<void> {
    this.running = false
    await this.loop
  }
}

export interface StallResult {
  readonly pattern: string
  /** The largest value sent, the stall it caused, and that stall per MB (under 1 MB: per 1 MB). */
  readonly bytes: number
  readonly stallMs: number
  readonly msPerMB: number
  readonly status: number
}

/**
 * For each pattern, values of 16 KB, 64 KB, … up to `maxBytes` in one span attribute, while the
 * probe runs (a figure over target is measured twice, the smaller kept). Growth stops at the first size that stalls over `budgetMs` (the next, 4× larger,
 * could stall 16× longer); a request unanswered after `timeoutMs` gets the child killed and replaced.
 */
export async function runStalls(opts: {
  maxBytes: number
  budgetMs: number
  timeoutMs: number
}): Promise<StallResult[]> {
  const env = { SIGNALBOX_MAX_BODY_BYTES: String(Math.max(16 * MB, 4 * opts.maxBytes)) }
  let child: ChildSignalbox = await startChild(newDataDir(), env)
  let probe = new Probe(child.apiUrl)
  const results: StallResult[] = []
  try {
    for (const [name, value] of ADVERSARIAL)
      for (const carrier of CARRIERS) {
        const pattern = `${name} (${carrier.name})`
        let last: StallResult | undefined
        for (let bytes = Math.min(16 * 1024, opts.maxBytes); bytes <= opts.maxBytes; bytes *= 4) {
          const measure = async () => {
            const body = carrier.body(value(bytes))
            await sleep(200)
            const from = performance.now()
            const answer = await post(
              `${child.collectorUrl}${carrier.path}`,
              body,
              carrier.type,
              opts.timeoutMs,
            )
            await sleep(200)
            return { a: answer, stallMs: probe.stall(from, performance.now()) }
          }
          let { a, stallMs } = await measure()
          // Over target: once more, keeping the smaller, so a spike from elsewhere on the machine does not count.
          if (a.status !== 0 && stallMs > 100 * perMB(bytes)) {
            const again = await measure()
            if (again.a.status === 0) a = again.a
            stallMs =
              again.a.status === 0 ? Math.max(stallMs, again.stallMs) : Math.min(stallMs, again.stallMs)
          }
          if (a.status === 0) {
            stallMs = Math.max(stallMs, opts.timeoutMs)
            child.process.kill('SIGKILL')
            await probe.stop()
            child = await startChild(newDataDir(), env)
            probe = new Probe(child.apiUrl)
          }
          last = { pattern, bytes, stallMs, msPerMB: stallMs / perMB(bytes), status: a.status }
          process.stderr.write(
            `  stall: ${pattern} ${Math.round(bytes / 1024)} KB → ${a.status}, ${stallMs.toFixed(0)} ms\n`,
          )
          if (stallMs > opts.budgetMs || bytes === opts.maxBytes) break
          if (bytes * 4 > opts.maxBytes) bytes = opts.maxBytes / 4 // end exactly on maxBytes
        }
        if (last) results.push(last)
      }
  } finally {
    await probe.stop()
    await stopChild(child)
  }
  return results
}
