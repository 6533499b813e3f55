/**
 * The middle-tier API example over real HTTP on 127.0.0.1: bearer-token checks, the
 * on-behalf-of exchange and the downstream call, the claims challenge, failures of the
 * authority and of the downstream API; `npm run example:api`.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { AUTHORIZATION_URI, claimsChallenge, Downstream, router } from "../../examples/api/api.js"
import { CLIENT_ID, identityLayer, LOCAL_DOWNSTREAM_AUDIENCE, start } from "../../examples/api/app.js"
import * as Identity from "../../examples/shared/Identity.js"
import * as Server from "../../examples/shared/Server.js"
import { runUntil } from "./spawn.js"

const OBO_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
const MFA_CLAIMS =
  "{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"c1a3b5d7-0000-4000-8000-000000000001\"]}}}"

interface Answer {
  readonly status: number
  readonly challenge: string | null
  readonly source: string | null
  readonly body: Record<string, unknown>
  readonly text: string
}

const call = (url: string, authorization?: string): Effect.Effect<Answer> =>
  Effect.promise(async () => {
    const r = await fetch(`${url}/api/data`, authorization === undefined ? {} : { headers: { authorization } })
    const text = await r.text()
    return {
      status: r.status,
      challenge: r.headers.get("www-authenticate"),
      source: r.headers.get("x-obo-token-source"),
      body: JSON.parse(text) as Record<string, unknown>,
      text
    }
  })

/** The API, its local downstream API and the test authority, all on 127.0.0.1. */
const setup = Effect.gen(function*() {
  const started = yield* start({ port: 0 })
  const { authority } = yield* Identity.localAuthority
  const downstream = Option.getOrThrow(started.resource)
  const assertion = (user: string, options?: { readonly audience?: string; readonly expiresIn?: number }) =>
    authority.userAssertion({ audience: options?.audience ?? CLIENT_ID, user, ...options })
  return { url: started.url, authority, downstream, assertion }
})

describe("the middle-tier API example", () => {
  it.scopedLive("rejects a missing or malformed Authorization header with 401, before any token request", () =>
    Effect.gen(function*() {
      const { authority, url } = yield* setup
      const none = yield* call(url)
      expect(none.status).toBe(401)
      expect(none.challenge).toBe("Bearer realm=\"\"")
      expect(none.body.error).toBe("unauthorized")
      for (
        const header of [
          "Basic dXNlcjpwYXNz",
          "Bearer",
          "Bearer ",
          "Bearer a b",
          "Bearer tok<en>",
          "Bearertoken",
          "Bearer abc"
        ]
      ) {
        const answer = yield* call(url, header)
        expect(answer.status, header).toBe(401)
        expect(answer.body.error, header).toBe("invalid_token")
        expect(answer.challenge, header).toMatch(/^Bearer realm="", error="invalid_token", error_description="[^"]+"$/)
      }
      expect(yield* authority.tokenRequests).toHaveLength(0)
    }).pipe(Effect.provide(identityLayer())))

  it.scopedLive("exchanges the caller's token on behalf of the user and returns the downstream answer; again from the cache", () =>
    Effect.gen(function*() {
      const { assertion, authority, downstream, url } = yield* setup
      const alice = yield* assertion("alice@contoso.onmicrosoft.com")

      const first = yield* call(url, `Bearer ${alice}`)
      expect(first.status).toBe(200)
      expect(first.body).toEqual({ message: "Hello from the downstream API", user: "Alice Adams", scopes: ".default" })
      expect(first.source).toBe("identity_provider")
      const requests = yield* authority.tokenRequests
      expect(requests).toHaveLength(1)
      expect(requests[0]!.form).toMatchObject({
        grant_type: OBO_GRANT,
        requested_token_use: "on_behalf_of",
        client_id: CLIENT_ID,
        assertion: alice
      })
      expect(requests[0]!.form.scope?.split(" ")).toContain(`${LOCAL_DOWNSTREAM_AUDIENCE}/.default`)

      // the scheme is case-insensitive; the same assertion is served from the cache
      const second = yield* call(url, `bearer ${alice}`)
      expect(second.status).toBe(200)
      expect(second.source).toBe("cache")
      expect(yield* authority.tokenRequests).toHaveLength(1)

      // another user: another exchange
      const bob = yield* call(url, `Bearer ${yield* assertion("bob@contoso.onmicrosoft.com")}`)
      expect(bob.body.user).toBe("Bob Baker")
      expect(bob.source).toBe("identity_provider")

      // the downstream API saw the on-behalf-of tokens, never the caller's
      const issued = yield* authority.issued
      const calls = yield* downstream.calls
      expect(calls.map((c) => c.status)).toEqual([200, 200, 200])
      const used = calls.map((c) => issued.find((t) => t.sequence === c.tokenSequence))
      expect(used.map((t) => [t?.grantType, t?.username])).toEqual([
        ["on_behalf_of", "alice@contoso.onmicrosoft.com"],
        ["on_behalf_of", "alice@contoso.onmicrosoft.com"],
        ["on_behalf_of", "bob@contoso.onmicrosoft.com"]
      ])
      expect(calls[0]!.tokenSequence).toBe(calls[1]!.tokenSequence)
      // no answer echoes a token
      for (const answer of [first, second, bob]) expect(answer.text).not.toContain(alice)
    }).pipe(Effect.provide(identityLayer())))

  it.scopedLive("an interaction_required answer with claims becomes a 401 with the claims challenge", () =>
    Effect.gen(function*() {
      const { assertion, authority, downstream, url } = yield* setup
      yield* authority.enqueue({
        status: 400,
        body: {
          error: "interaction_required",
          error_description:
            "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.\r\nTrace ID: 1",
          error_codes: [50076],
          suberror: "basic_action",
          claims: MFA_CLAIMS
        }
      })
      const answer = yield* call(url, `Bearer ${yield* assertion("bob@contoso.onmicrosoft.com")}`)
      expect(answer.status).toBe(401)
      const encoded = Buffer.from(MFA_CLAIMS, "utf8").toString("base64")
      expect(answer.challenge).toBe(
        `Bearer realm="", authorization_uri="${AUTHORIZATION_URI}", error="insufficient_claims", claims="${encoded}"`
      )
      expect(AUTHORIZATION_URI).toBe("https://login.microsoftonline.com/common/oauth2/authorize")
      expect(answer.challenge).toBe(claimsChallenge(MFA_CLAIMS))
      expect(Buffer.from(/claims="([^"]+)"/.exec(answer.challenge!)![1]!, "base64").toString("utf8")).toBe(MFA_CLAIMS)
      expect(answer.body).toEqual({
        error: "interaction_required",
        error_description:
          "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.",
        claims: MFA_CLAIMS
      })
      expect(yield* downstream.calls).toHaveLength(0)
    }).pipe(Effect.provide(identityLayer())))

  it.scopedLive("an expired assertion or one for another API becomes 401 invalid_token", () =>
    Effect.gen(function*() {
      const { assertion, authority, url } = yield* setup
      const expired = yield* call(
        url,
        `Bearer ${yield* assertion("alice@contoso.onmicrosoft.com", { expiresIn: -60 })}`
      )
      expect(expired.status).toBe(401)
      expect(expired.body.error).toBe("invalid_token")
      expect(expired.challenge).toContain("error=\"invalid_token\"")
      const elsewhere = yield* call(
        url,
        `Bearer ${yield* assertion("alice@contoso.onmicrosoft.com", { audience: "another-api" })}`
      )
      expect(elsewhere.status).toBe(401)
      expect(elsewhere.body.error).toBe("invalid_token")
      expect(String(elsewhere.body.error_description)).toContain("AADSTS500131")
      expect((yield* authority.tokenRequests).length).toBeGreaterThan(0)
    }).pipe(Effect.provide(identityLayer())))

  it.scopedLive("an authority that keeps failing becomes 503", () =>
    Effect.gen(function*() {
      const { assertion, authority, downstream, url } = yield* setup
      yield* authority.enqueue(...Array.from({ length: 3 }, () => ({ status: 503, body: "busy" })))
      const unavailable = yield* call(url, `Bearer ${yield* assertion("alice@contoso.onmicrosoft.com")}`)
      expect(unavailable.status).toBe(503)
      expect(unavailable.body.error).toBe("temporarily_unavailable")
      expect(yield* authority.tokenRequests).toHaveLength(3)
      expect(yield* downstream.calls).toHaveLength(0)
    }).pipe(Effect.provide(identityLayer({ client: { retry: { baseDelay: "1 millis", maxDelay: "2 millis" } } }))))

  it.scopedLive("a downstream API that cannot be reached becomes 502", () =>
    Effect.gen(function*() {
      const { assertion } = yield* setup
      // the API's router with a downstream API that is not listening
      const url = yield* Server.listen(router, { port: 0 }).pipe(
        Effect.provideService(Downstream, {
          url: "http://127.0.0.1:1/data",
          scopes: [`${LOCAL_DOWNSTREAM_AUDIENCE}/.default`]
        }),
        Effect.provide(FetchHttpClient.layer)
      )
      const failed = yield* call(url, `Bearer ${yield* assertion("alice@contoso.onmicrosoft.com")}`)
      expect(failed.status).toBe(502)
      expect(failed.body).toEqual({
        error: "bad_gateway",
        error_description: "the downstream API could not be reached"
      })
    }).pipe(Effect.provide(identityLayer())))

  it("npm run example:api serves, plays a front end once, and stops on SIGTERM", async () => {
    const { code, stdout } = await runUntil("example:api", "Serving until Ctrl-C")
    expect(code).toBe(0)
    expect(stdout).toMatch(/Middle-tier API on http:\/\/127\.0\.0\.1:\d+\/api\/data \(test-authority\)/)
    expect(stdout).toMatch(/without a token: +401 /)
    expect(stdout).toMatch(
      /with Alice's token: +200 .*"user":"Alice Adams".*\(downstream token from identity_provider\)/
    )
    expect(stdout).toMatch(/the same token again: +200 .*\(downstream token from cache\)/)
    expect(stdout).toContain(`WWW-Authenticate: ${claimsChallenge(MFA_CLAIMS)}`)
  }, 90_000)
})
