/*
 * Which store errors are about the data sent, as opposed to the store itself. The collector answers
 * the first 400 (after finding whose request it was) and the second 503, so a sender whose rows the
 * engine cannot take never makes everyone else retry.
 */

/** ClickHouse error types (the `type` of a ClickHouseError) raised by the values of an insert. */
const DATA_ERROR_TYPES = new Set([
  'ARGUMENT_OUT_OF_BOUND',
  'BAD_ARGUMENTS',
  'CANNOT_CONVERT_TYPE',
  'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN',
  'DECIMAL_OVERFLOW',
  'INCORRECT_DATA',
  'INCORRECT_NUMBER_OF_COLUMNS',
  'SIZES_OF_ARRAYS_DONT_MATCH',
  'TOO_LARGE_STRING_SIZE',
  'TYPE_MISMATCH',
  'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
])

export function isDataError(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type
  if (typeof type !== 'string') return false
  return type.startsWith('CANNOT_PARSE') || type.startsWith('CANNOT_READ') || DATA_ERROR_TYPES.has(type)
}
