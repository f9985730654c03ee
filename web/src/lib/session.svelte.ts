const KEY = 'signalbox.token'

/**
 * Who this tab is, when Signalbox requires it (SIGNALBOX_AUTH=tokens): either a pasted api token,
 * kept for the browser session, or a single sign-on session (an HTTP-only cookie the page cannot
 * read; `user` and the CSRF token come from `/auth/session`). `needed` turns on when the
 * api answers 401, and the app asks the person to sign in.
 */
export const session = $state({
  needed: false,
  message: '',
  sso: false,
  user: '',
  csrf: '',
  /** `none`: the api asks nobody who they are (SIGNALBOX_AUTH unset, loopback only). */
  authentication: '' as '' | 'none' | 'tokens',
})

export const currentToken = (): string => sessionStorage.getItem(KEY) ?? ''

/** Forgets the pasted token (signing out). */
export const forgetToken = (): void => sessionStorage.removeItem(KEY)

export function signIn(token: string): void {
  sessionStorage.setItem(KEY, token.trim())
  session.needed = false
  session.message = ''
  location.reload()
}

/** Where single sign-on starts; the provider sends the browser back to this page. */
export const ssoLoginUrl = (): string => `/auth/login?returnTo=${encodeURIComponent(`/${location.hash}`)}`
