import { BadRequestError } from '../../core/errors.ts'

/*
 * What the store can hold, checked at decode so a request the engine would refuse is answered 400
 * alone instead of failing the batch it shares with other senders.
 */

/**
 * Times are stored as DateTime64(9), a signed 64-bit count of nanoseconds (up to 2262-04-11), and
 * the trace index adds a span's duration to its start: any time past this would overflow there.
 */
const MAX_TIME_NS = (1n << 63n) - 1n

/**
 * AnyValue arrays and maps nest; decoding and storing them recurses. Real attributes nest a few
 * levels; thousands is an attack on the stack.
 */
export const MAX_NESTING_DEPTH = 32

const MAX_UINT32 = 0xffff_ffff

type Path = string | { render(): string }
const render = (path: Path) => (typeof path === 'string' ? path : path.render())

export function checkTime(ns: bigint, path: Path, suffix = ''): void {
  if (ns > MAX_TIME_NS)
    throw new BadRequestError(
      'time_out_of_range',
      `${render(path)}${suffix}: ${ns} ns is beyond the largest time stored (${MAX_TIME_NS} ns, 2262-04-11)`,
    )
}

export function checkUint32(n: number, path: string): void {
  if (!(n >= 0 && n <= MAX_UINT32))
    throw new BadRequestError('value_out_of_range', `${path}: ${n} is not an unsigned 32-bit integer`)
}

export function tooDeep(path: Path, limit = MAX_NESTING_DEPTH): never {
  throw new BadRequestError(
    'too_deep',
    `${render(path)}: values nested deeper than ${limit} levels are not accepted`,
  )
}
