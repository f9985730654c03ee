import { describe, expect, it } from 'vitest'
import { anyMatcherSchema, matcherSchema, matches } from '../../alerts/matchers.ts'

/*
 * Silences come from operators through the api and are matched against every firing alert at each
 * evaluation, in the same process as the collector: a pattern must cost time linear in the label it
 * reads, whatever it is. Alertmanager's matchers are Go's RE2, which has no backtracking.
 */

describe('label matchers', () => {
  it('match a regular expression in linear time, however it nests', () => {
    // With a backtracking engine this pattern on a 40-character label takes 2^37 steps.
    const [evil] = [matcherSchema.parse('job =~ "sto(.+)+!"')]
    const label = `sto${'r'.repeat(37)}`
    expect(matches([evil as never], { job: label })).toBe(false)
    expect(matches([evil as never], { job: `${label}!` })).toBe(true)
  })

  it("are anchored and read RE2's syntax, as Alertmanager's are", () => {
    const team = matcherSchema.parse('team =~ "ops|commerce"')
    expect(matches([team], { team: 'ops' })).toBe(true)
    expect(matches([team], { team: 'devops' })).toBe(false)
    expect(matches([matcherSchema.parse('team !~ "dev.*"')], { team: 'ops' })).toBe(true)
    // What RE2 has no way to do in linear time, and so does not have: backreferences, lookaround.
    for (const value of ['(a)\\1', 'a(?=b)', '(?<!x)y']) {
      const parsed = anyMatcherSchema.safeParse({ name: 'team', value, isRegex: true })
      expect(parsed.success).toBe(false)
      expect(parsed.error?.issues[0]?.message).toMatch(/not a valid regular expression/)
    }
  })

  it('refuse a pattern longer than a value may be, in either form: compiling it is work on the evaluator', () => {
    const long = 'a'.repeat(5_000)
    expect(matcherSchema.safeParse(`team =~ "${long}"`).success).toBe(false)
    expect(anyMatcherSchema.safeParse({ name: 'team', value: long, isRegex: true }).success).toBe(false)
    expect(matcherSchema.safeParse(`team =~ "${'a'.repeat(1_000)}"`).success).toBe(true)
  })
})
