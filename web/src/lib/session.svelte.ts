const KEY = 'signalbox.token'

/**
 * The api token this tab uses when Signalbox requires one (SIGNALBOX_AUTH=tokens). Kept for the
 * session only; `needed` turns on when the api answers 401, and the app asks for a token.
 */
export const session = $state({ needed: false, message: '' })

export const currentToken = (): string => sessionStorage.getItem(KEY) ?? ''

export function signIn(token: string): void {
  sessionStorage.setItem(KEY, token.trim())
  session.needed = false
  session.message = ''
  location.reload()
}

export function signOut(): void {
  sessionStorage.removeItem(KEY)
  location.reload()
}
