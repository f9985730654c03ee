const KEY = 'signalbox.operator'

/**
 * Who is acting in this browser. Until sign-in exists (the security issue) people name themselves
 * once; acknowledgements, silences, replays and ignores record the name.
 */
export const operator = $state({ name: localStorage.getItem(KEY) ?? '' })

export function setOperator(name: string): void {
  operator.name = name
  localStorage.setItem(KEY, name)
}
