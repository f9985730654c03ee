import { describe, expect, it } from 'vitest'
import { Redactor } from '../../core/privacy.ts'

const redactor = new Redactor({ keys: ['name'], searchable: [], patterns: ['email'] }, 'k')

/** `{"a":{"a":…{"name":"Jane Doe","mail":"jane@example.com"}…}}`, `depth` objects deep. */
function nested(depth: number): string {
  return `${'{"a":'.repeat(depth - 1)}{"name":"Jane Doe","mail":"jane@example.com"}${'}'.repeat(depth - 1)}`
}

describe('redaction of deeply nested JSON', () => {
  it('applies keys and patterns at an ordinary depth', () => {
    const out = redactor.jsonText(nested(50))
    expect(out).toContain('"name":"[redacted:name]"')
    expect(out).toContain('"mail":"hmac:')
    expect(out).not.toContain('Jane')
    expect(out).not.toContain('jane')
  })

  // Walking deeper nesting overflowed the stack; the text was then redacted as free text, where keys do
  // not apply, so the name under `name` was stored.
  it('leaves nothing personal in JSON text nested too deep to walk', () => {
    for (const depth of [1_000, 10_000, 100_000]) {
      const out = redactor.jsonText(nested(depth))
      expect(out).not.toContain('Jane')
      expect(out).not.toContain('jane')
      expect(out).toContain('"[redacted:too-deep]"')
      expect(() => JSON.parse(out)).not.toThrow()
    }
  })

  it('does not overflow the stack on a deeply nested document', () => {
    const doc = JSON.parse(`${'['.repeat(100_000)}"jane@example.com"${']'.repeat(100_000)}`)
    const out = redactor.json(doc)
    expect(JSON.stringify(out)).not.toContain('jane')
  })
})
