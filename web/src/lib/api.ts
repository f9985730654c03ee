import { type ClientResponse, hc, type InferResponseType } from 'hono/client'
import type { SuccessStatusCode } from 'hono/utils/http-status'
import type { AppType } from '../../../api/app.ts'
import { currentToken, session } from './session.svelte.ts'

/**
 * The api, typed from its own routes: no URL in the web app is built by hand. A pasted token goes
 * as a bearer; a single sign-on session rides on its cookie, with its CSRF token on every request.
 */
const client = hc<AppType>(location.origin, {
  headers: (): Record<string, string> => {
    const token = currentToken()
    if (token) return { authorization: `Bearer ${token}` }
    return session.csrf ? { 'x-csrf-token': session.csrf } : {}
  },
})
export const api = client.api
/** Single sign-on and the browser session (`/auth`). */
export const auth = client.auth

/** Errors carry the api's message (`{error:{code,message}}`) so a page can show it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** A response from the typed client: its JSON body's type is the route's. */
export type ApiResponse = ClientResponse<unknown, number, 'json'>

/** What a route answers when it succeeds, as the route itself declares it. */
export type Success<R> =
  R extends ClientResponse<infer T, infer S, 'json'> ? (S extends SuccessStatusCode ? T : never) : never

/**
 * A call's JSON answer, typed by the route that answers it (never by the caller); a refusal throws
 * an ApiError with the api's message, and a 401 asks for sign-in.
 */
export async function read<R extends ApiResponse>(response: Promise<R>): Promise<Success<R>> {
  const res = await response
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null
    if (res.status === 401) {
      session.needed = true
      session.message = body?.error?.message ?? 'sign in'
    }
    throw new ApiError(res.status, body?.error?.message ?? `${res.status} ${res.statusText}`)
  }
  return (await res.json()) as Success<R>
}

export type Lifecycle = InferResponseType<(typeof api.entities)[':type'][':id']['lifecycle']['$get'], 200>
export type Flows = InferResponseType<typeof api.flows.$get, 200>
export type Trace = InferResponseType<(typeof api.traces)[':traceId']['$get'], 200>
export type FlowMetrics = InferResponseType<(typeof api.flows)[':flow']['metrics']['$get'], 200>
export type Stuck = InferResponseType<(typeof api.flows)[':flow']['stuck']['$get'], 200>
export type FlowEntities = InferResponseType<(typeof api.flows)[':flow']['entities']['$get'], 200>
export type Inventory = InferResponseType<(typeof api.inventory)[':sku']['$get'], 200>
export type SystemMap = InferResponseType<typeof api.systems.map.$get, 200>
export type Connectors = InferResponseType<typeof api.connectors.$get, 200>
export type SearchResults = InferResponseType<typeof api.search.$get, 200>
export type Slos = InferResponseType<typeof api.slos.$get, 200>
export type Slo = InferResponseType<(typeof api.slos)[':id']['$get'], 200>
export type Alerts = InferResponseType<typeof api.alerts.$get, 200>
export type AlertDetail = InferResponseType<(typeof api.alerts)[':id']['$get'], 200>
export type Silences = InferResponseType<typeof api.silences.$get, 200>
export type Exceptions = InferResponseType<typeof api.exceptions.$get, 200>
export type ReplayJobs = InferResponseType<(typeof api)['replay-jobs']['$get'], 200>
export type Replays = InferResponseType<typeof api.replays.$get, 200>
export type Tokens = InferResponseType<typeof api.tokens.$get, 200>
export type Audit = InferResponseType<typeof api.audit.$get, 200>
export type CatalogAnswer = InferResponseType<typeof api.catalog.$get, 200>
export type CatalogEntry = InferResponseType<(typeof api.catalog)[':id']['$get'], 200>
export type NotificationChannels = InferResponseType<(typeof api)['notification-channels']['$get'], 200>
