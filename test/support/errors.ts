import { expect } from 'vitest'

/**
 * Words that belong to a library or the runtime, never to a Signalbox answer: a JavaScript error
 * class or its phrasing, the engine's name or error codes, a stack frame, a parser's position report.
 */
export const INTERNALS = [
  /TypeError|RangeError|SyntaxError|ReferenceError|ValidationError/,
  /Cannot read properties/,
  /is not a function/,
  /is not iterable/,
  /undefined is not/,
  /ClickHouse|chdb|DB::Exception|Code: \d/i,
  /\bat .+\(.+:\d+:\d+\)/,
  /node_modules|\.ts:\d+|\.js:\d+/,
  /no cloud event detected|invalid payload type|null or undefined payload/,
  /received NaN|received Infinity/,
]

/** Asserts an error answer is in the product's one shape, in its own words. */
export function expectProductError(
  status: number,
  body: unknown,
  label = '',
): asserts body is { error: { code: string; message: string; requestId: string } } {
  const text = JSON.stringify(body)
  expect(status, `${label} ${text}`).toBeGreaterThanOrEqual(400)
  expect(status, `${label} ${text}`).toBeLessThan(500)
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error
  expect(error, `${label} ${text}`).toBeDefined()
  expect(typeof error?.code, `${label} ${text}`).toBe('string')
  expect(typeof error?.message, `${label} ${text}`).toBe('string')
  expect(String(error?.message ?? '').length, `${label} ${text}`).toBeGreaterThan(0)
  expect(error?.requestId, `${label} ${text}`).toMatch(/^\S+$/)
  for (const internal of INTERNALS) expect(error?.message, `${label} ${text}`).not.toMatch(internal)
}
