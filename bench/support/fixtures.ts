/**
 * Shared fixtures: the client, its authority, and generated caches in the MSAL unified JSON
 * format that both libraries read.
 */
import { randomBytes } from "node:crypto"

export const CLIENT_ID = "b3c6a1f0-7d2e-4c55-9a0b-2f1e3d4c5b6a"
export const SECRET = "bench-s3cret"
export const HOST = "login.microsoftonline.com"

/** A deterministic tenant id for index `i` (tenant 0 is the client's own). */
export const tenantId = (i: number): string => {
  const hex = (i + 1).toString(16).padStart(12, "0")
  return `7a1e0000-0000-4000-8000-${hex}`
}

export const TENANT = tenantId(0)
export const AUTHORITY = `https://${HOST}/${TENANT}`

/** The scope of resource `j`: names never contain one another. */
export const scopeOf = (j: number): string => `api://bench-resource-${j}-x/.default`

/** The scope the measured cache-hit call asks for (resource 0 in tenant 0). */
export const HIT_SCOPE = scopeOf(0)

/** An uncached scope for cold calls. */
export const COLD_SCOPE = "https://graph.microsoft.com/.default"

/** The scope of the warm-up call made before a burst of cold calls. */
export const WARM_SCOPE = "https://management.azure.com/.default"

/** Length of a generated access token, close to an Entra app token. */
export const TOKEN_LENGTH = 830

/** A JWT-shaped random token of `TOKEN_LENGTH` characters, unique per call. */
export const fakeToken = (): string => {
  const header = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0"
  const signature = randomBytes(256).toString("base64url") // 342 chars
  const payloadLength = TOKEN_LENGTH - header.length - signature.length - 2
  const payload = randomBytes(Math.ceil((payloadLength * 3) / 4)).toString("base64url").slice(0, payloadLength)
  return `${header}.${payload}.${signature}`
}

/** How `n` cached app tokens are spread: tenants × scopes per tenant. */
export const layout = (n: number): { readonly tenants: number; readonly scopesPerTenant: number } => {
  if (n <= 1) return { tenants: 1, scopesPerTenant: 1 }
  const tenants = Math.min(100, Math.max(1, Math.floor(Math.sqrt(n))))
  return { tenants, scopesPerTenant: Math.ceil(n / tenants) }
}

/** One cached app token, in wire form (strings for times, as MSAL writes them). */
export interface WireAccessToken {
  readonly home_account_id: string
  readonly environment: string
  readonly credential_type: "AccessToken"
  readonly client_id: string
  readonly secret: string
  readonly realm: string
  readonly target: string
  readonly cached_at: string
  readonly expires_on: string
  readonly extended_expires_on: string
  readonly token_type: "Bearer"
}

/** The key msal-node writes for an app token (fields joined with `-`, lower-cased). */
export const msalKey = (t: WireAccessToken): string =>
  [t.home_account_id, t.environment, t.credential_type, t.client_id, t.realm, t.target, ""].join("-").toLowerCase()

/**
 * `n` app tokens spread over tenants and scopes; the first is tenant 0 / `HIT_SCOPE`. Every
 * token is valid for an hour.
 */
export const generateTokens = (n: number, nowSeconds = Math.floor(Date.now() / 1000)): Array<WireAccessToken> => {
  const { tenants, scopesPerTenant } = layout(n)
  const out: Array<WireAccessToken> = []
  for (let j = 0; j < scopesPerTenant && out.length < n; j++) {
    for (let t = 0; t < tenants && out.length < n; t++) {
      out.push({
        home_account_id: "",
        environment: HOST,
        credential_type: "AccessToken",
        client_id: CLIENT_ID,
        secret: fakeToken(),
        realm: tenantId(t),
        target: scopeOf(j),
        cached_at: String(nowSeconds),
        expires_on: String(nowSeconds + 3600),
        extended_expires_on: String(nowSeconds + 3600),
        token_type: "Bearer"
      })
    }
  }
  return out
}

/** A serialised cache in the MSAL unified format holding these app tokens. */
export const cacheJson = (tokens: ReadonlyArray<WireAccessToken>): string => {
  const accessTokens: Record<string, WireAccessToken> = {}
  for (const t of tokens) accessTokens[msalKey(t)] = t
  return JSON.stringify({
    Account: {},
    IdToken: {},
    AccessToken: accessTokens,
    RefreshToken: {},
    AppMetadata: {
      [`appmetadata-${HOST}-${CLIENT_ID}`]: { client_id: CLIENT_ID, environment: HOST }
    }
  })
}
