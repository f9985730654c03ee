import { RE2JS } from 're2js'
import { z } from 'zod'

/** Alertmanager's label matchers: `severity = page`, `team =~ "commerce|ops"`, `flow != x`. */
export interface Matcher {
  readonly name: string
  readonly op: '=' | '!=' | '=~' | '!~'
  readonly value: string
}

/** A matcher as Alertmanager's v2 api writes it (`amtool`, Grafana, the Alertmanager UI). */
export interface AlertmanagerMatcher {
  readonly name: string
  readonly value: string
  readonly isRegex: boolean
  readonly isEqual: boolean
}

const MATCHER = /^\s*([a-z_][a-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$/
/** The longest value a matcher may hold, in either form: a pattern is compiled on the evaluator's thread. */
const MAX_VALUE = 1_000

/**
 * Patterns compiled by RE2 (re2js), as Alertmanager's are by Go's regexp: matching is linear in the
 * label, where a backtracking engine took minutes on `(.+)+!` against a 40-character label, at every
 * evaluation, in the process that also ingests. Compiled once each: the same few silences and routes
 * are matched against every alert.
 */
const compiled = new Map<string, RE2JS>()
const MAX_COMPILED = 1_000

function pattern(value: string): RE2JS {
  let re = compiled.get(value)
  if (!re) {
    re = RE2JS.compile(value)
    if (compiled.size >= MAX_COMPILED) compiled.clear()
    compiled.set(value, re)
  }
  return re
}

function validRegex(value: string, ctx: z.RefinementCtx): boolean {
  try {
    pattern(value)
    return true
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `'${value.slice(0, 200)}' is not a valid regular expression (RE2 syntax, as Alertmanager's: no backreferences or lookaround)`,
    })
    return false
  }
}

/** Parses one matcher; an invalid regular expression is reported here, not at the first alert. */
export const matcherSchema = z.string().transform((text, ctx): Matcher => {
  const m = MATCHER.exec(text)
  if (!m) {
    ctx.addIssue({
      code: 'custom',
      message: `'${text}' is not a matcher such as severity = page or team =~ "a|b"`,
    })
    return z.NEVER
  }
  const [, name, op, value] = m as unknown as [string, string, Matcher['op'], string]
  if (value.length > MAX_VALUE) {
    ctx.addIssue({ code: 'custom', message: `a matcher's value is at most ${MAX_VALUE} characters` })
    return z.NEVER
  }
  if (op.endsWith('~') && !validRegex(value, ctx)) return z.NEVER
  return { name, op, value }
})

/**
 * Alertmanager v2's matcher object. `isEqual` is optional there (true when left out, as in
 * Alertmanager before 0.22); label names follow Prometheus's rule.
 */
export const alertmanagerMatcherSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a label name such as slo or severity'),
    value: z.string().max(MAX_VALUE),
    isRegex: z.boolean(),
    isEqual: z.boolean().default(true),
  })
  .strict()
  .transform((m, ctx): Matcher => {
    if (m.isRegex && !validRegex(m.value, ctx)) return z.NEVER
    const op = `${m.isEqual ? '=' : '!='}${m.isRegex ? '~' : ''}`.replace('!=~', '!~') as Matcher['op']
    return { name: m.name, op, value: m.value }
  })

/**
 * Either form: `"slo = x"` or `{ name: slo, value: x, isRegex: false, isEqual: true }`. Chosen by the
 * value's type rather than as a union, so a mistake is reported in the form's own words.
 */
export const anyMatcherSchema = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .transform((value, ctx): Matcher => {
    const parsed = (typeof value === 'string' ? matcherSchema : alertmanagerMatcherSchema).safeParse(value)
    if (parsed.success) return parsed.data
    for (const issue of parsed.error.issues)
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path })
    return z.NEVER
  })

export const toAlertmanagerMatcher = (m: {
  readonly name: string
  readonly op: string
  readonly value: string
}): AlertmanagerMatcher => ({
  name: m.name,
  value: m.value,
  isRegex: m.op.endsWith('~'),
  isEqual: !m.op.startsWith('!'),
})

/** Regular expressions match the whole value, as in Alertmanager: `team =~ ops` does not match `devops`. */
export function matches(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => {
    const v = labels[m.name] ?? ''
    if (m.op === '=') return v === m.value
    if (m.op === '!=') return v !== m.value
    const found = pattern(m.value).matches(v)
    return m.op === '=~' ? found : !found
  })
}
