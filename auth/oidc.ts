import * as client from 'openid-client'
import type { OidcSettings } from '../core/config.ts'
import { type Role, roleRank } from './permissions.ts'
import type { Scope } from './scope.ts'

/**
 * The user's role from their claims: each value of the role claim (a string or a list) is looked up
 * in the configured map and the highest role wins; a user with none gets the default role, or none.
 */
export function roleFromClaims(
  claims: Record<string, unknown>,
  settings: Pick<OidcSettings, 'roleClaim' | 'roles' | 'defaultRole'>,
): Role | undefined {
  const raw = claims[settings.roleClaim]
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]
  const mapped = values
    .filter((v): v is string => typeof v === 'string')
    .map((v) => settings.roles[v])
    .filter((r): r is NonNullable<typeof r> => r !== undefined)
    .sort((a, b) => roleRank(b) - roleRank(a))
  return mapped[0] ?? settings.defaultRole
}

/** What a login in progress must remember between the redirect out and the callback. */
export interface PendingLogin {
  readonly state: string
  readonly nonce: string
  readonly verifier: string
  readonly returnTo: string
}

export interface SignedIn {
  readonly name: string
  readonly subject: string
  readonly role: Role | undefined
  readonly scope: Scope
}

/**
 * The flows, channels and systems a user is limited to, from the configured claims: a claim present
 * (a string or a list) limits its dimension to its values; an absent claim leaves it unlimited.
 */
export function scopeFromClaims(
  claims: Record<string, unknown>,
  settings: Pick<OidcSettings, 'scopeClaims'>,
): Scope {
  const scope: Record<string, string[]> = {}
  for (const [dimension, claim] of Object.entries(settings.scopeClaims)) {
    const raw = claim === undefined ? undefined : claims[claim]
    if (raw === undefined) continue
    scope[dimension] = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string')
  }
  return scope
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * Single sign-on with an OpenID provider through openid-client: authorization code with PKCE
 * (S256), state and nonce; the ID token's signature, issuer, audience, expiry and nonce are checked
 * by the library. The provider is discovered on first use, so Signalbox starts while it is down.
 */
export class OidcLogin {
  private discovered?: Promise<client.Configuration>

  constructor(
    private readonly settings: OidcSettings,
    private readonly publicUrl: string,
  ) {}

  get redirectUri(): string {
    return `${this.publicUrl}/auth/callback`
  }

  private configuration(): Promise<client.Configuration> {
    const issuer = new URL(this.settings.issuer)
    this.discovered ??= client
      .discovery(
        issuer,
        this.settings.clientId,
        this.settings.clientSecret,
        this.settings.clientSecret ? client.ClientSecretPost(this.settings.clientSecret) : client.None(),
        // Plain http only to a provider on this machine (development and tests).
        LOOPBACK.has(issuer.hostname) ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        this.discovered = undefined
        throw err
      })
    return this.discovered
  }

  async begin(returnTo: string): Promise<{ url: string; pending: PendingLogin }> {
    const config = await this.configuration()
    const pending = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      returnTo,
    }
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: this.settings.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    })
    return { url: url.href, pending }
  }

  /** Exchanges the code the provider sent back; throws when any check fails. */
  async finish(search: string, pending: PendingLogin): Promise<SignedIn> {
    const config = await this.configuration()
    const tokens = await client.authorizationCodeGrant(config, new URL(`${this.redirectUri}${search}`), {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    })
    let claims: Record<string, unknown> = { ...tokens.claims() }
    // Providers that keep groups out of the ID token give them at the userinfo endpoint.
    const wanted = [this.settings.roleClaim, ...Object.values(this.settings.scopeClaims)]
    if (
      wanted.some((c) => c !== undefined && claims[c] === undefined) &&
      config.serverMetadata().userinfo_endpoint
    )
      claims = {
        ...(await client.fetchUserInfo(config, tokens.access_token, String(claims.sub))),
        ...claims,
      }
    const name = [claims.email, claims.preferred_username, claims.name, claims.sub].find(
      (v): v is string => typeof v === 'string' && v.length > 0,
    ) as string
    return {
      name,
      subject: String(claims.sub),
      role: roleFromClaims(claims, this.settings),
      scope: scopeFromClaims(claims, this.settings),
    }
  }
}
