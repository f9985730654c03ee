import { type ClientResponse, hc } from 'hono/client'
import type { SuccessStatusCode } from 'hono/utils/http-status'
import { expect } from 'vitest'
import type { AppType } from '../../api/app.ts'

/**
 * The api through Hono's client, typed by the routes themselves: a test that reads a renamed or
 * retyped response field no longer compiles. Tests that test HTTP itself (headers, odd bodies,
 * status walks) keep raw `fetch`.
 */
export const typedApi = (url: string, headers?: Record<string, string>) =>
  hc<AppType>(url, headers ? { headers } : {}).api

/** What a route answers when it succeeds, as the route declares it. */
type Success<R> =
  R extends ClientResponse<infer T, infer S, 'json'> ? (S extends SuccessStatusCode ? T : never) : never

/** A call's JSON answer, typed by its route; the test fails with the api's own message unless 2xx. */
export async function ok<R extends ClientResponse<unknown, number, 'json'>>(
  response: Promise<R>,
): Promise<Success<R>> {
  const res = await response
  if (!res.ok) expect.fail(`${res.status} ${res.url}: ${await res.text()}`)
  return (await res.json()) as Success<R>
}
