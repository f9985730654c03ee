import type { Attributes, Resource, SpanRecord } from './otlp/model.ts'

/*
 * A string decoded from JSON may hold a lone UTF-16 surrogate (`"\ud800"` is valid JSON). Written
 * on, JSON.stringify escapes it as `\ud800` and the engine refuses the whole insert ("missing second
 * part of surrogate pair"), so one sender's bad string would fail everyone's batch. Protobuf strings
 * cannot carry one: invalid UTF-8 is already decoded to U+FFFD. OTLP asks receivers to repair
 * invalid text the same way, so a lone surrogate becomes U+FFFD here, on the finished row line.
 *
 * JSON.stringify escapes surrogates only when they are lone (pairs are written as they are), and
 * writes a literal backslash as `\\`; so a `\udXXX` (X in 8–f) escape after an odd number of
 * backslashes is exactly a lone surrogate. Scanned by hand: linear in the line, whatever it holds.
 */

const isSurrogateNibble = (c: number) => (c >= 0x38 && c <= 0x39) || (c >= 0x61 && c <= 0x66) // 8-9, a-f
const BACKSLASH = 0x5c

/** The row line with every lone-surrogate escape replaced by `\ufffd`, and how many there were. */
function repairLoneSurrogates(line: string): { line: string; repaired: number } {
  let at = line.indexOf('\\ud')
  if (at < 0) return { line, repaired: 0 }
  let out = ''
  let copied = 0
  let repaired = 0
  for (; at >= 0; at = line.indexOf('\\ud', at + 1)) {
    if (!isSurrogateNibble(line.charCodeAt(at + 3))) continue
    let slashes = 1
    while (at - slashes >= copied && line.charCodeAt(at - slashes) === BACKSLASH) slashes++
    if (slashes % 2 === 0) continue // `\\ud800`: an escaped backslash, then text
    out += `${line.slice(copied, at)}\\ufffd`
    copied = at + 6
    repaired++
  }
  return repaired === 0 ? { line, repaired } : { line: out + line.slice(copied), repaired }
}

/** Repairs row lines in place; returns how many lone surrogates were replaced. */
export function repairLines(lines: string[]): number {
  let repaired = 0
  for (let i = 0; i < lines.length; i++) {
    const r = repairLoneSurrogates(lines[i] as string)
    if (r.repaired > 0) {
      lines[i] = r.line
      repaired += r.repaired
    }
  }
  return repaired
}

// ES2024 string methods, in Node 20's V8 but not in the ES2023 lib this project declares.
interface WellFormedMethods {
  isWellFormed(): boolean
  toWellFormed(): string
}

/** The string with lone surrogates replaced by U+FFFD (the same string when there are none). */
export function wellFormed(s: string): string {
  const m = s as unknown as WellFormedMethods
  return m.isWellFormed() ? s : m.toWellFormed()
}

const isWellFormed = (s: string) => (s as unknown as WellFormedMethods).isWellFormed()

function illFormedIn(attrs: Attributes): number {
  let n = 0
  for (const k in attrs) n += (isWellFormed(k) ? 0 : 1) + (isWellFormed(attrs[k] as string) ? 0 : 1)
  return n
}

/**
 * How many of the spans' strings hold a lone surrogate. Spans are written as Native blocks, whose
 * UTF-8 encoder repairs each to U+FFFD by itself; this counts them, to say so to the sender.
 */
export function illFormedSpanStrings(spans: readonly SpanRecord[]): number {
  let n = 0
  const resources = new Set<Resource>()
  for (const s of spans) {
    if (!resources.has(s.resource)) {
      resources.add(s.resource)
      n += illFormedIn(s.resource.attributes)
    }
    for (const text of [s.name, s.statusMessage, s.traceState, s.scope.name, s.scope.version])
      n += isWellFormed(text) ? 0 : 1
    n += illFormedIn(s.attributes)
    for (const e of s.events) n += (isWellFormed(e.name) ? 0 : 1) + illFormedIn(e.attributes)
    for (const l of s.links) n += (isWellFormed(l.traceState) ? 0 : 1) + illFormedIn(l.attributes)
  }
  return n
}
