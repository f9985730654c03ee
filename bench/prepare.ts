/**
 * What a decoding thread spends on a trace request, alone on one core: realistic requests of 512
 * spans (64 orders' traces, serialized by the official OTLP serializer) through `prepareSpans` as the
 * collector runs it (decode, retention window, truncation, redaction with the shipped privacy rules,
 * the Native block and the spans' keys). Rounds of `BENCH_REQUESTS` requests after a warm-up; the
 * median round's CPU µs a span. Last line: one JSON object.
 *
 *   npm run bench:prepare            (BENCH_ROUNDS=7, BENCH_REQUESTS=1000)
 *   npm run bench:prepare:instructions   (the same work counted in instructions: see the script)
 *
 * BENCH_JUST_REQUESTS=n prepares n requests and prints nothing: what bench/prepare-instructions.sh
 * counts under valgrind.
 */
import { join } from 'node:path'
import { prepareSpans } from '../collector/spans/prepare.ts'
import { preparerContexts } from '../collector/threads/contexts.ts'
import { median, wholeFromEnv } from './figures.ts'
import { orderRequestBody } from './span-blocks.ts'

const ROUNDS = wholeFromEnv('BENCH_ROUNDS', 7)
const REQUESTS = wholeFromEnv('BENCH_REQUESTS', 1000)
const SPANS_A_REQUEST = 512

// Forty distinct requests, reused round after round (the decoder keeps nothing between them).
const start = Date.now() - 3_600_000
const bodies = Array.from({ length: 40 }, (_, r) => orderRequestBody(r * 64, start))
const { spans: ctx } = preparerContexts({
  configDir: join(import.meta.dirname, '../config'),
  hashKey: 'bench-hash-key-0123456789abcdef0123',
  retentionDays: 30,
  maxAttributeLength: 4096,
  maxRequestBytes: 32 << 20,
  logRetentionDays: 30,
})

/**
 * CPU µs a span over `n` requests: the process's CPU time (V8's helper threads included), not the
 * wall clock, which on a shared machine also counts the time other tenants ran.
 */
function round(n: number): number {
  const nowMs = Date.now()
  const started = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const prepared = prepareSpans(
      { body: bodies[i % bodies.length] as Buffer, encoding: 'protobuf', nowMs },
      ctx,
    )
    if (prepared.kept !== SPANS_A_REQUEST)
      throw new Error(`kept ${prepared.kept} of ${SPANS_A_REQUEST} spans`)
  }
  const used = process.cpuUsage(started)
  return (used.user + used.system) / (n * SPANS_A_REQUEST)
}

if (process.env.BENCH_JUST_REQUESTS !== undefined) {
  round(wholeFromEnv('BENCH_JUST_REQUESTS', 1))
  process.exit(0)
}

round(200) // warm-up: the JIT's tiers
const rounds: number[] = []
for (let r = 0; r < ROUNDS; r++) rounds.push(round(REQUESTS))
const mid = median(rounds)
process.stderr.write(
  `prepareSpans, ${SPANS_A_REQUEST}-span requests: ${rounds.map((x) => x.toFixed(2)).join(', ')} µs a span; median ${mid.toFixed(2)}\n`,
)
process.stdout.write(
  `${JSON.stringify({ microsPerSpan: Number(mid.toFixed(2)), rounds: ROUNDS, requests: REQUESTS })}\n`,
)
