import { z } from 'zod'

/** Alertmanager's label matchers: `severity = page`, `team =~ "commerce|ops"`, `flow != x`. */
export interface Matcher {
  readonly name: string
  readonly op: '=' | '!=' | '=~' | '!~'
  readonly value: string
}

const MATCHER = /^\s*([a-z_][a-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$/

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
  if (op.endsWith('~')) {
    try {
      new RegExp(value)
    } catch {
      ctx.addIssue({ code: 'custom', message: `'${value}' is not a valid regular expression` })
      return z.NEVER
    }
  }
  return { name, op, value }
})

/** Regular expressions are anchored, as in Alertmanager: `team =~ ops` does not match `devops`. */
export function matches(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => {
    const v = labels[m.name] ?? ''
    if (m.op === '=') return v === m.value
    if (m.op === '!=') return v !== m.value
    const found = new RegExp(`^(?:${m.value})$`).test(v)
    return m.op === '=~' ? found : !found
  })
}
