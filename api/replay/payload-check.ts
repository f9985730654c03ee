import { Ajv2020 } from 'ajv/dist/2020.js'
import { BadRequestError } from '../../core/errors.ts'
import { ENCRYPTED } from '../../core/payload-vault.ts'

/** Marks a value the connector sealed (connectors/sdk/sealing.ts): personal data Signalbox cannot read. */
export const SEALED = '$sealed'

/** Personal data: sealed by the connector, or encrypted at rest by Signalbox (core/payload-vault.ts). */
const isPersonal = (node: unknown) =>
  Boolean(node && typeof node === 'object' && (SEALED in node || ENCRYPTED in node))

const ajv = new Ajv2020({ allErrors: true, strict: false })

/** True when the JSON pointer points at, or inside, a sealed value of `doc`. */
export function sealedAt(doc: unknown, pointer: string): boolean {
  let node: unknown = doc
  for (const part of pointer.split('/').slice(1)) {
    if (isPersonal(node)) return true
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~')
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined
  }
  return isPersonal(node)
}

/**
 * Checks an edited payload against the step's input schema, as the connector declared it at
 * registration. Sealed fields the operator left alone cannot be read here and are not judged (the
 * connector checks them once opened); everything else must fit, or nothing is sent.
 */
export function checkPayload(schema: Record<string, unknown> | null, payload: unknown, step: string): void {
  if (!schema) return
  const validate = ajv.compile(schema)
  if (validate(payload)) return
  const problems = (validate.errors ?? [])
    .filter((e) => !sealedAt(payload, e.instancePath))
    .map((e) => `${e.instancePath || '(payload)'}: ${e.message ?? 'invalid'}`)
  if (problems.length > 0)
    throw new BadRequestError(
      'invalid_payload',
      `the edited payload does not fit step ${step}: ${problems.join('; ')}`,
      { problems },
    )
}
