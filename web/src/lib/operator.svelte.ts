const KEY = 'signalbox.operator'

/**
 * Who is acting in this browser: the signed-in user, or, without authentication, the name people
 * give once. Acknowledgements, silences, replays and ignores record it (with authentication the
 * api records the signed-in name, whatever the page sends).
 */
export const operator = $state({ name: localStorage.getItem(KEY) ?? '', signedIn: false })

export function setOperator(name: string, { remember = true } = {}): void {
  operator.name = name
  operator.signedIn = !remember
  if (remember) localStorage.setItem(KEY, name)
}
