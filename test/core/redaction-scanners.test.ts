import { describe, expect, it } from 'vitest'
import { replaceEmails } from '../../core/redaction-scanners.ts'

// The scanner replaces a regex that is quadratic on crafted input; it must find exactly what the regex
// finds, so the regex stays here as the reference.
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g

/** Every match with where it starts, so a shifted or merged match shows. */
function matches(find: (text: string, replace: (m: string) => string) => string, text: string) {
  const found: string[] = []
  const out = find(text, (m) => {
    found.push(m)
    return `<${found.length}>`
  })
  return { out, found }
}

const byRegex = (text: string, replace: (m: string) => string) => text.replace(EMAIL, replace)

/** A small deterministic generator (mulberry32), so a failure can be reproduced from its seed. */
function random(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('replaceEmails', () => {
  it.each([
    ['jane.doe@example.com', ['jane.doe@example.com']],
    ['mail jane.doe@example.com, j@x.io.', ['jane.doe@example.com', 'j@x.io']],
    ['a@b.c', []],
    ['a@.co', []],
    ['a@b.co.uk1', ['a@b.co.uk']],
    ['a@b.cd.e', ['a@b.cd']],
    ['a@b@c.de', ['b@c.de']],
    ['@a.de', []],
    ['x a@b..de', ['a@b..de']],
    ['a@b-.de-x.fg1h', ['a@b-.de-x.fg']],
    ['a%b+c@d.ef a@b.cd', ['a%b+c@d.ef', 'a@b.cd']],
    ['a@b.cdé', ['a@b.cd']],
    ['é@b.cd', []],
  ])('in %j finds %j, as the regex does', (text, expected) => {
    expect(matches(replaceEmails, text).found).toEqual(expected)
    expect(matches(replaceEmails, text)).toEqual(matches(byRegex, text))
  })

  it('leaves text with no address as it is', () => {
    const text = 'no address @ here'
    expect(replaceEmails(text, () => 'x')).toBe(text)
  })

  it('finds the same matches as the regex in random text', () => {
    // Pieces close to the pattern, so that addresses, near-misses and back-to-back matches are common.
    const alphabets = [
      [...'a1.-@_+ Z'],
      ['a', 'b', '.', '@', 'xyz.@'],
      [...'ab.@-1%'],
      [...'aB.@ é\n'],
      [...'a.@@'],
      ['a', 'bc', '.', '.de', '@', '@x', ' ', '-', '1', '_', 'é'],
    ]
    let compared = 0
    let withMatches = 0
    let withSeveral = 0
    for (let seed = 1; seed <= 50_000; seed++) {
      const next = random(seed)
      const pieces = alphabets[seed % alphabets.length] as string[]
      const length = Math.floor(next() * (next() < 0.9 ? 40 : 300))
      let text = ''
      for (let i = 0; i < length; i++) text += pieces[Math.floor(next() * pieces.length)]
      const expected = matches(byRegex, text)
      expect(matches(replaceEmails, text), `seed ${seed}: ${JSON.stringify(text)}`).toEqual(expected)
      compared++
      if (expected.found.length > 0) withMatches++
      if (expected.found.length > 1) withSeveral++
    }
    // The generator is only useful if many cases have matches, some of them several.
    expect(compared).toBe(50_000)
    expect(withMatches).toBeGreaterThan(5_000)
    expect(withSeveral).toBeGreaterThan(1_500)
  })
})
