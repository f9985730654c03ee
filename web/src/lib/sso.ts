import { auth } from './api.ts'
import { setOperator } from './operator.svelte.ts'
import { forgetToken, session } from './session.svelte.ts'

/** Reads the single sign-on session, if any: the user then acts under their own name. */
export async function loadSession(): Promise<void> {
  const res = await auth.session.$get()
  if (!res.ok) return
  const s = await res.json()
  session.sso = s.sso
  session.authentication = s.authentication
  if (!s.authenticated) return
  session.user = s.name
  session.csrf = s.csrfToken
  setOperator(s.name, { remember: false })
}

/** Ends the session (single sign-on or pasted token) and starts over. */
export async function signOut(): Promise<void> {
  if (session.csrf) await auth.logout.$post(undefined, { headers: { 'x-csrf-token': session.csrf } })
  forgetToken()
  location.reload()
}
