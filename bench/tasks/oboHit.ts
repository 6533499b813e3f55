/**
 * 1b. Cache-hit `acquireTokenOnBehalfOf` with one cached on-behalf-of token per user, for
 * `users` users (each its own user assertion, so its own `user_assertion_hash`). The measured
 * call presents user 0's assertion. Every measured call is checked to be a cache hit.
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import type { ConfidentialClient } from "effect-msal"
import { ConfidentialClient as Client } from "effect-msal"
import type { WireAccessToken } from "../support/fixtures.js"
import { CLIENT_ID, fakeToken, HOST, msalKey, TENANT } from "../support/fixtures.js"
import { makeMsal } from "../support/msal.js"
import { makeRuntime } from "../support/ours.js"
import { sizeOfMsal, sizeOfOurs, toEntry } from "../support/populate.js"
import type { Limits, Summary } from "../support/stats.js"
import { sampleAsync, sampleInFiber } from "../support/stats.js"
import { TokenCache } from "effect-msal"

/** The downstream scope every user's token is for. */
export const OBO_SCOPE = "https://graph.microsoft.com/User.Read"

export interface OboHitResult {
  readonly library: "ours" | "msal"
  readonly users: number
  /** Access tokens the cache really held when measured. */
  readonly cached: number
  /** Measured calls that were not served from the cache (must be 0). */
  readonly misses: number
  readonly runs: Readonly<Record<string, Summary>>
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url")

/** User `i`'s assertion: an (unsigned) JWT for this API, valid for a day, about 900 characters. */
export const userAssertion = (i: number, nowSeconds: number): string =>
  [
    b64url({ typ: "JWT", alg: "RS256", kid: "bench" }),
    b64url({
      aud: CLIENT_ID,
      iss: `https://${HOST}/${TENANT}/v2.0`,
      iat: nowSeconds,
      nbf: nowSeconds,
      exp: nowSeconds + 86_400,
      oid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
      tid: TENANT,
      scp: "access_as_user",
      pad: "x".repeat(400)
    }),
    "c2lnbmF0dXJl".repeat(30)
  ].join(".")

const hashOf = (assertion: string): string => createHash("sha256").update(assertion, "utf8").digest("base64url")

/** User `i`'s cached on-behalf-of token, as msal-node writes one (camelCase hash too). */
const oboToken = (i: number, nowSeconds: number): WireAccessToken & { readonly user_assertion_hash: string } => ({
  home_account_id: "",
  environment: HOST,
  credential_type: "AccessToken",
  client_id: CLIENT_ID,
  secret: fakeToken(),
  realm: TENANT,
  target: OBO_SCOPE.toLowerCase(),
  cached_at: String(nowSeconds),
  expires_on: String(nowSeconds + 3600),
  extended_expires_on: String(nowSeconds + 3600),
  token_type: "Bearer",
  user_assertion_hash: hashOf(userAssertion(i, nowSeconds))
})

const tokens = (users: number, nowSeconds: number) => Array.from({ length: users }, (_, i) => oboToken(i, nowSeconds))

const LIMITS: Limits = { warmupCalls: 5_000, warmupMillis: 500, maxSamples: 200_000, maxMillis: 1_500 }

const fiberLoop = (client: ConfidentialClient.Service, request: ConfidentialClient.OnBehalfOfRequest) =>
  sampleInFiber(LIMITS, client.acquireTokenOnBehalfOf(request))

export const runOurs = async (baseUrl: string, users: number): Promise<OboHitResult> => {
  const runtime = makeRuntime(baseUrl)
  try {
    const client = await runtime.runPromise(Client.ConfidentialClient)
    const now = Math.floor(Date.now() / 1000)
    await runtime.runPromise(Effect.flatMap(TokenCache.TokenCache, (cache) =>
      cache.modify(
        tokens(users, now).map((t) => ({
          _tag: "Put" as const,
          section: "AccessToken" as const,
          entry: { ...toEntry(t), user_assertion_hash: t.user_assertion_hash }
        }))
      )))
    const cached = await sizeOfOurs(runtime)
    const request = { userAssertion: userAssertion(0, now), scopes: [OBO_SCOPE] }
    let misses = 0
    const runPromise = await sampleAsync(LIMITS, async () => {
      const result = await runtime.runPromise(client.acquireTokenOnBehalfOf(request))
      if (result.tokenSource !== "cache") misses++
    })
    const fiber = await runtime.runPromise(fiberLoop(client, request))
    misses += fiber.misses
    return { library: "ours", users, cached, misses, runs: { runPromise, fiber: fiber.summary } }
  } finally {
    await runtime.dispose()
  }
}

const msalLimits = (users: number): Limits =>
  users >= 10_000
    ? { warmupCalls: 10, warmupMillis: 1_000, maxSamples: 2_000, maxMillis: 3_000 }
    : { warmupCalls: 500, warmupMillis: 500, maxSamples: 100_000, maxMillis: 1_500 }

export const runMsal = async (baseUrl: string, users: number): Promise<OboHitResult> => {
  const { app, counts } = makeMsal(baseUrl)
  const now = Math.floor(Date.now() / 1000)
  const accessTokens: Record<string, unknown> = {}
  for (const t of tokens(users, now)) {
    accessTokens[`${msalKey(t)}-${t.user_assertion_hash}`] = { ...t, userAssertionHash: t.user_assertion_hash }
  }
  app.getTokenCache().deserialize(JSON.stringify({ AccessToken: accessTokens }))
  const cached = sizeOfMsal(app)
  const request = { oboAssertion: userAssertion(0, now), scopes: [OBO_SCOPE] }
  let misses = 0
  const promise = await sampleAsync(msalLimits(users), async () => {
    const result = await app.acquireTokenOnBehalfOf(request)
    if (result?.fromCache !== true) misses++
  })
  misses += counts.get + counts.post
  return { library: "msal", users, cached, misses, runs: { promise } }
}
