/** The middle value (the upper one of an even count): what the benches quote of their runs. */
export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

/** A whole-number setting from the environment, `fallback` when unset; refused below `min`. */
export function wholeFromEnv(name: string, fallback: number, min = 1): number {
  const n = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number, ${min} or more`)
  return n
}
