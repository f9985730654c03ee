import { createHmac } from 'node:crypto'
import { join } from 'node:path'
import { z } from 'zod'
import { replaceEmails } from './redaction-scanners.ts'
import { INTEGRATION_ATTRIBUTES, KEY_ATTRIBUTES, KEY_EXTENSIONS, LOCATION_ATTRIBUTE } from './vocabulary.ts'
import { readYamlConfig } from './yaml-config.ts'

export type RedactionKind = 'key' | 'email' | 'phone' | 'card' | 'iban'
const PATTERNS = ['email', 'phone', 'card', 'iban'] as const

const rulesSchema = z
  .object({
    searchable: z.array(z.string().min(1)).default([]),
    keys: z.array(z.string().min(1)).default([]),
    patterns: z.array(z.enum(PATTERNS)).default([...PATTERNS]),
  })
  .strict()

/**
 * Rules for one source, on top of the global ones: more keys and searchable keys, and, when given,
 * its own pattern list (a source whose long numeric ids look like card numbers can leave `card` out).
 */
const sourceSchema = z
  .object({
    searchable: z.array(z.string().min(1)).default([]),
    keys: z.array(z.string().min(1)).default([]),
    patterns: z.array(z.enum(PATTERNS)).optional(),
  })
  .strict()

const fileSchema = rulesSchema
  .extend({
    /** By source: a span's or log's `service.name`, a CloudEvent's `source`, an exception's connector. */
    sources: z
      .record(z.string().regex(/^[^*]+\*?$/, 'a source name, or a prefix ending in *'), sourceSchema)
      .default({}),
  })
  .strict()

type Rules = z.output<typeof rulesSchema>
type FileRules = z.output<typeof fileSchema>

/** Keys that carry business identifiers and integration context: never redacted. */
const PROTECTED = new Set<string>([
  ...Object.values(KEY_ATTRIBUTES),
  ...Object.values(KEY_EXTENSIONS),
  ...Object.values(INTEGRATION_ATTRIBUTES),
  LOCATION_ATTRIBUTE,
  'service.name',
])

/** Last key segments that name business identifiers in JSON payloads (`orderId`, `lines.sku`). */
const PROTECTED_SEGMENTS = new Set([
  'id',
  'orderid',
  'order_id',
  'returnid',
  'return_id',
  'shipmentid',
  'shipment_id',
  'sku',
  'locationid',
  'location_id',
])

// E-mail addresses are found by `replaceEmails`, a scanner: their regex backtracks quadratically. These
// three, and the checks before them, match at most a few dozen characters from each start, so they take
// linear time as regexes: on crafted 1 MB inputs, under 10 ms, and up to 40 ms when a candidate (checked
// by Luhn or mod 97) comes every few characters.
const PHONE = /\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}\d/g
const CARD = /\b\d(?:[ -]?\d){12,18}\b/g
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g

/**
 * How deep `Redactor.json` walks a document: deeper than a real payload nests, and far less than the
 * stack allows (walking it, or `JSON.stringify`, overflowed at a few thousand levels).
 */
const MAX_JSON_DEPTH = 100

function luhn(digits: string): boolean {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i])
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

function ibanValid(text: string): boolean {
  const s = text.replace(/ /g, '')
  const moved = `${s.slice(4)}${s.slice(0, 4)}`
  let rest = 0
  for (const ch of moved) {
    const v = ch >= 'A' && ch <= 'Z' ? String(ch.charCodeAt(0) - 55) : ch
    for (const digit of v) rest = (rest * 10 + Number(digit)) % 97
  }
  return rest === 1
}

/**
 * Addresses hashed in one value or JSON document; beyond, they are redacted without a hash. A hash
 * makes a customer findable, which a value holding hundreds of addresses is not for; and each costs
 * a keyed SHA-256: a megabyte of packed addresses (175,000) held the event loop for 460 ms.
 */
const MAX_HASHED = 100

class HashBudget {
  private left = MAX_HASHED
  take(): boolean {
    return this.left-- > 0
  }
}

/** keep: business keys; hash: searchable identifiers; redact: configured keys; patterns: the rest. */
type KeyRule = 'keep' | 'hash' | 'redact' | 'patterns'

/**
 * Removes personal data before it is stored. Values under configured keys are replaced; searchable
 * identifiers (e-mail) become a keyed hash, so support can find a customer without Signalbox holding
 * the address; patterns catch e-mails, phone numbers, card numbers and IBANs elsewhere. Every
 * replacement is counted by kind.
 */
export class Redactor {
  private readonly keys: Set<string>
  private readonly searchable: Set<string>
  private readonly patterns: Set<string>
  private readonly bySource = new Map<string, Redactor>()
  private readonly keyRules = new Map<string, KeyRule>()
  private readonly sourceRules: ReadonlyArray<[string, z.output<typeof sourceSchema>]>
  private quiet: Redactor | undefined

  constructor(
    private readonly rules: Rules & Partial<Pick<FileRules, 'sources'>>,
    private readonly hashKey: string,
    private readonly count: (kind: RedactionKind) => void = () => {},
  ) {
    this.keys = new Set(rules.keys.map((k) => k.toLowerCase()))
    this.searchable = new Set(rules.searchable.map((k) => k.toLowerCase()))
    this.patterns = new Set(rules.patterns)
    this.sourceRules = Object.entries(rules.sources ?? {})
  }

  /**
   * The same rules, counting nothing: for a copy of data that is redacted, and counted, where it is
   * stored (a contract violation's example of a mapped webhook's event).
   */
  uncounted(): Redactor {
    this.quiet ??= new Redactor(this.rules, this.hashKey)
    return this.quiet
  }

  /**
   * The redactor for one source: the global rules plus the rules of the source's entry (an exact
   * name, else the longest matching prefix `name*`), or the global one when none applies.
   */
  forSource(source: string): Redactor {
    // Asked once a span: the answer comes without building anything.
    const entries = this.sourceRules
    if (entries.length === 0) return this
    let found = this.bySource.get(source)
    if (found) return found
    const [, extra] =
      entries.find(([name]) => name === source) ??
      entries
        .filter(([name]) => name.endsWith('*') && source.startsWith(name.slice(0, -1)))
        .sort(([a], [b]) => b.length - a.length)[0] ??
      []
    found = extra
      ? new Redactor(
          {
            keys: [...this.rules.keys, ...extra.keys],
            searchable: [...this.rules.searchable, ...extra.searchable],
            patterns: extra.patterns ?? this.rules.patterns,
          },
          this.hashKey,
          this.count,
        )
      : this
    // Bounded: sources are few, but a hostile sender could invent many.
    if (this.bySource.size < 10_000) this.bySource.set(source, found)
    return found
  }

  /** The searchable form of an identifier: the same input always gives the same hash. */
  hash(value: string): string {
    return `hmac:${createHmac('sha256', this.hashKey).update(value.trim().toLowerCase()).digest('hex').slice(0, 32)}`
  }

  private match(set: Set<string>, key: string): boolean {
    const k = key.toLowerCase()
    return set.has(k) || set.has(k.slice(k.lastIndexOf('.') + 1))
  }

  /** What the rules do with a key's values; keys are few (attribute names), so each is worked out once. */
  private ruleFor(key: string): KeyRule {
    let rule = this.keyRules.get(key)
    if (rule) return rule
    if (PROTECTED.has(key) || PROTECTED_SEGMENTS.has(key.slice(key.lastIndexOf('.') + 1).toLowerCase()))
      rule = 'keep'
    else if (this.match(this.searchable, key)) rule = 'hash'
    else if (this.match(this.keys, key)) rule = 'redact'
    else rule = 'patterns'
    // Bounded: a hostile sender could invent keys without end.
    if (this.keyRules.size < 10_000) this.keyRules.set(key, rule)
    return rule
  }

  /** One value under one key. */
  value(key: string, value: string, hashes?: HashBudget): string {
    const rule = this.ruleFor(key)
    if (rule === 'keep' || value.startsWith('hmac:') || value.startsWith('[redacted')) return value
    if (rule === 'hash') {
      this.count('email')
      return this.hash(value)
    }
    if (rule === 'redact') {
      this.count('key')
      return `[redacted:${key.slice(key.lastIndexOf('.') + 1)}]`
    }
    return this.text(value, hashes)
  }

  /** Patterns in free text (a log body, a status message, an unknown attribute). */
  text(value: string, hashes?: HashBudget): string {
    let out = value
    if (this.patterns.has('email') && out.includes('@')) {
      const budget = hashes ?? new HashBudget() // per value, unless a document shares one
      out = replaceEmails(out, (m) => {
        this.count('email')
        return budget.take() ? this.hash(m) : '[redacted:email]'
      })
    }
    if (this.patterns.has('phone') && out.includes('+'))
      out = out.replace(PHONE, () => {
        this.count('phone')
        return '[redacted:phone]'
      })
    if (this.patterns.has('card') && /\d{4}/.test(out))
      out = out.replace(CARD, (m) => {
        const digits = m.replace(/\D/g, '')
        if (!luhn(digits)) return m
        this.count('card')
        return '[redacted:card]'
      })
    if (this.patterns.has('iban') && /[A-Z]{2}\d{2}/.test(out))
      out = out.replace(IBAN, (m) => {
        if (!ibanValid(m)) return m
        this.count('iban')
        return '[redacted:iban]'
      })
    return out
  }

  attributes(attrs: Record<string, string>): Record<string, string> {
    let copy: Record<string, string> | undefined
    for (const k in attrs) {
      const v = attrs[k] as string
      const r = this.value(k, v)
      if (r !== v) {
        copy ??= { ...attrs }
        copy[k] = r
      }
    }
    return copy ?? attrs
  }

  /**
   * A JSON document (event data, an exception payload): keys and patterns applied through it. Values
   * a connector sealed (`$sealed`) or Signalbox encrypted (`$encrypted`) are left as they are; objects
   * and arrays nested deeper than `MAX_JSON_DEPTH` are replaced.
   */
  json(value: unknown, key = '', depth = 0, hashes = new HashBudget()): unknown {
    if (typeof value === 'string') return key ? this.value(key, value, hashes) : this.text(value, hashes)
    // Walking on could overflow the stack: `jsonText` then redacted the text as free text, where keys do
    // not apply. Nothing this deep is a real payload, so it is dropped whole.
    if (value && typeof value === 'object' && depth >= MAX_JSON_DEPTH) return '[redacted:too-deep]'
    if (Array.isArray(value)) return value.map((v) => this.json(v, key, depth + 1, hashes))
    if (value && typeof value === 'object') {
      if ('$sealed' in value || '$encrypted' in value) return value
      if (key && this.match(this.keys, key)) {
        this.count('key')
        return `[redacted:${key.slice(key.lastIndexOf('.') + 1)}]`
      }
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.json(v, key ? `${key}.${k}` : k, depth + 1, hashes)]),
      )
    }
    return value
  }

  /** JSON text, or free text when it does not parse. */
  jsonText(text: string): string {
    if (!text) return text
    try {
      return JSON.stringify(this.json(JSON.parse(text)))
    } catch {
      return this.text(text)
    }
  }
}

export function loadRedaction(
  configDir: string,
  hashKey: string,
  count?: (kind: RedactionKind) => void,
): Redactor {
  return new Redactor(readYamlConfig(join(configDir, 'privacy.yaml'), fileSchema), hashKey, count)
}
