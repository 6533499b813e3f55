import { HttpClient, HttpClientError } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Layer, Logger, LogLevel, Option, Redacted, TestClock } from "effect"
import { CacheEntry, ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import type { ServerError } from "effect-msal/MsalError"
import {
  AUTHORITY,
  authority,
  BY_TENANT_ID,
  CLIENT_ID,
  client,
  GRAPH,
  SECRET,
  TENANT_ID,
  testLayer,
  TOKEN_ENDPOINT,
  tokenRequestCount
} from "./support/harness.js"

const acquire = (request: ConfidentialClient.ClientCredentialsRequest) =>
  Effect.flatMap(client, (c) => c.acquireTokenForClient(request))

const lastTokenRequest = Effect.flatMap(authority, (a) => a.tokenRequests).pipe(
  Effect.map((rs) => {
    const last = rs[rs.length - 1]
    if (last === undefined) throw new Error("no token request was made")
    return last
  })
)

const issuedTokens = Effect.flatMap(authority, (a) => a.issued).pipe(Effect.map((ts) => ts.map((t) => t.accessToken)))

/** Lets forked fibers (background refreshes) run to their next wait. */
const settle = TestClock.adjust(0)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe("acquireTokenForClient on the wire", () => {
  it.effect("sends exactly MSAL Python's form fields and headers", () =>
    Effect.gen(function*() {
      const result = yield* acquire({ scopes: [GRAPH] })
      const request = yield* lastTokenRequest
      expect(request.method).toBe("POST")
      expect(request.url).toBe(TOKEN_ENDPOINT)
      expect(request.form).toEqual({
        client_id: CLIENT_ID,
        grant_type: "client_credentials",
        scope: GRAPH,
        client_info: "1",
        client_secret: SECRET
      })
      const { "client-request-id": correlationId, ...headers } = request.headers
      expect(correlationId).toMatch(UUID)
      expect(result.correlationId).toBe(correlationId)
      expect(headers).toEqual({
        accept: "application/json",
        "content-length": String(new TextEncoder().encode(new URLSearchParams(request.form).toString()).length),
        "content-type": "application/x-www-form-urlencoded",
        "x-client-sku": "effect-msal",
        "x-client-ver": "0.1.0",
        "x-client-os": process.platform,
        "x-ms-lib-capability": "retry-after, h429",
        "x-client-current-telemetry": "4|730,2|",
        // MSAL Python's last-request telemetry: no cache hits, no failures yet
        "x-client-last-telemetry": "4|0|||"
      })
    }).pipe(Effect.provide(testLayer())))

  it.effect("adds x-app-name and x-app-ver when set, and a new correlation id per request", () =>
    Effect.gen(function*() {
      yield* acquire({ scopes: [GRAPH] })
      yield* acquire({ scopes: ["https://vault.azure.net/.default"] })
      const requests = yield* Effect.flatMap(authority, (a) => a.tokenRequests)
      expect(requests.map((r) => [r.headers["x-app-name"], r.headers["x-app-ver"]])).toEqual([
        ["billing-worker", "2.1.0"],
        ["billing-worker", "2.1.0"]
      ])
      expect(requests[0]!.headers["client-request-id"]).not.toBe(requests[1]!.headers["client-request-id"])
    }).pipe(Effect.provide(testLayer({ client: { appName: "billing-worker", appVersion: "2.1.0" } }))))

  it.effect("sorts and de-duplicates scopes and never adds the reserved scopes", () =>
    Effect.gen(function*() {
      const result = yield* acquire({
        scopes: ["https://b.example/.default", "https://a.example/.default", "https://b.example/.default"]
      })
      expect((yield* lastTokenRequest).form.scope).toBe("https://a.example/.default https://b.example/.default")
      expect(result.scopes).toEqual(["https://a.example/.default", "https://b.example/.default"])
    }).pipe(Effect.provide(testLayer())))
})

describe("acquireTokenForClient and the cache", () => {
  it.effect("serves a cached token with no I/O, with expiry computed from the time the request was sent", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_700_000_000_000)
      const first = yield* acquire({ scopes: [GRAPH] })
      yield* TestClock.adjust("10 minutes")
      const second = yield* acquire({ scopes: [GRAPH] })
      expect(first.tokenSource).toBe("identity_provider")
      expect(second.tokenSource).toBe("cache")
      expect(Redacted.value(second.accessToken)).toBe((yield* issuedTokens)[0])
      expect(second.expiresOn.getTime()).toBe(1_700_000_000_000 + 3599_000)
      // the discovered tenant id of contoso.onmicrosoft.com
      expect(second.tenantId).toBe("72f988bf-86f1-41af-91ab-2d7cd011db47")
      expect(second.correlationId).toBeUndefined()
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("serves a request for fewer scopes from a cached superset", () =>
    Effect.gen(function*() {
      yield* acquire({ scopes: ["https://a.example/.default", "https://b.example/.default"] })
      const subset = yield* acquire({ scopes: ["https://B.example/.default"] })
      expect(subset.tokenSource).toBe("cache")
      expect(subset.scopes).toEqual(["https://a.example/.default", "https://b.example/.default"])
      const other = yield* acquire({ scopes: ["https://a.example/.default", "https://c.example/.default"] })
      expect(other.tokenSource).toBe("identity_provider")
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer())))

  it.effect("matches scopes case-insensitively on the key path (MSAL Python's case quirk)", () =>
    Effect.gen(function*() {
      yield* acquire({ scopes: [GRAPH] })
      const upper = yield* acquire({ scopes: [GRAPH.toUpperCase()] })
      expect(upper.tokenSource).toBe("cache")
    }).pipe(Effect.provide(testLayer())))

  it.effect("serves a token with 300 s left, and re-fetches (reason 3) below that", () =>
    Effect.gen(function*() {
      yield* acquire({ scopes: [GRAPH] })
      expect((yield* acquire({ scopes: [GRAPH] })).tokenSource).toBe("cache")
      yield* TestClock.adjust("1 second")
      expect((yield* acquire({ scopes: [GRAPH] })).tokenSource).toBe("cache")
      yield* TestClock.adjust("1 second")
      const again = yield* acquire({ scopes: [GRAPH] })
      expect(again.tokenSource).toBe("identity_provider")
      expect((yield* lastTokenRequest).headers["x-client-current-telemetry"]).toBe("4|730,3|")
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer({ authority: { expiresIn: 301 } }))))

  it.effect("never serves a token with less than five minutes left (expires_in 100)", () =>
    Effect.gen(function*() {
      yield* acquire({ scopes: [GRAPH] })
      const second = yield* acquire({ scopes: [GRAPH] })
      expect(second.tokenSource).toBe("identity_provider")
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer({ authority: { expiresIn: 100 } }))))

  it.effect("purges expired entries it meets", () =>
    Effect.gen(function*() {
      yield* acquire({ scopes: ["https://a.example/.default"] })
      yield* acquire({ scopes: ["https://b.example/.default"] })
      yield* TestClock.adjust("2 hours")
      yield* acquire({ scopes: ["https://a.example/.default"] })
      const cache = yield* TokenCache.TokenCache
      const targets = (yield* cache.list("AccessToken")).map((t) => t.target)
      expect(targets).toEqual(["https://a.example/.default"])
    }).pipe(Effect.provide(testLayer())))

  it.effect("writes the MSAL unified-schema entries for an app token", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      yield* acquire({ scopes: [GRAPH] })
      const json = JSON.parse(yield* TokenCache.serialize)
      // keyed by the discovered tenant id, as MSAL Python writes it on Entra
      const key = `-login.microsoftonline.com-accesstoken-${CLIENT_ID}-72f988bf-86f1-41af-91ab-2d7cd011db47-${GRAPH}`
      expect(Object.keys(json.AccessToken)).toEqual([key])
      const { secret, ...fields } = json.AccessToken[key]
      expect(typeof secret).toBe("string")
      expect(fields).toEqual({
        credential_type: "AccessToken",
        home_account_id: "",
        environment: "login.microsoftonline.com",
        client_id: CLIENT_ID,
        realm: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        target: GRAPH,
        token_type: "Bearer",
        cached_at: "1000",
        expires_on: "4599",
        extended_expires_on: "4599"
      })
      expect(json.AppMetadata).toEqual({
        [`appmetadata-login.microsoftonline.com-${CLIENT_ID}`]: {
          client_id: CLIENT_ID,
          environment: "login.microsoftonline.com"
        }
      })
      expect(json.RefreshToken).toBeUndefined()
      expect(json.Account).toBeUndefined()
    }).pipe(Effect.provide(testLayer())))
})

describe("refresh_in and background refresh", () => {
  it.effect("after refreshOn, returns the cached token at once and refreshes once in the background", () =>
    Effect.gen(function*() {
      const first = yield* acquire({ scopes: [GRAPH] })
      expect(first.refreshOn?.getTime()).toBe(1800_000)
      yield* TestClock.adjust("1801 seconds")
      yield* authority.pipe(Effect.flatMap((a) => a.configure({ latency: "1 second" })))
      const during = yield* Effect.all(Array.from({ length: 20 }, () => acquire({ scopes: [GRAPH] })), {
        concurrency: "unbounded"
      })
      expect(during.every((r) => r.tokenSource === "cache")).toBe(true)
      expect(during.every((r) => Redacted.value(r.accessToken) === Redacted.value(first.accessToken))).toBe(true)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* tokenRequestCount).toBe(2)
      expect((yield* lastTokenRequest).headers["x-client-current-telemetry"]).toBe("4|730,4|")
      const after = yield* acquire({ scopes: [GRAPH] })
      expect(after.tokenSource).toBe("cache")
      expect(Redacted.value(after.accessToken)).toBe((yield* issuedTokens)[1])
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer({ authority: { expiresIn: 3600, refreshIn: 1800 } }))))

  it.effect("keeps serving the cached token when the background refresh fails, and retries 30 s later", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const first = yield* acquire({ scopes: [GRAPH] })
      const a = yield* authority
      yield* a.enqueue({ status: 500, body: "<html>oops</html>" }, { status: 500, body: "<html>oops</html>" })
      yield* TestClock.adjust("1801 seconds")
      const served = yield* acquire({ scopes: [GRAPH] }).pipe(
        Effect.provide(Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ message }) => {
            logs.push(String(message))
          })
        ))
      )
      yield* settle
      expect(served.tokenSource).toBe("cache")
      expect(Redacted.value(served.accessToken)).toBe(Redacted.value(first.accessToken))
      expect(yield* tokenRequestCount).toBe(2)
      // within the 30 s back-off: no new attempt, still the cached token
      yield* TestClock.adjust("10 seconds")
      expect((yield* acquire({ scopes: [GRAPH] })).tokenSource).toBe("cache")
      yield* settle
      expect(yield* tokenRequestCount).toBe(2)
      yield* TestClock.adjust("21 seconds")
      yield* acquire({ scopes: [GRAPH] })
      yield* settle
      expect(yield* tokenRequestCount).toBe(3)
      expect(logs.some((l) => l.includes("background token refresh failed"))).toBe(true)
      // the token is still usable, and once the authority recovers it is replaced
      yield* TestClock.adjust("31 seconds")
      yield* acquire({ scopes: [GRAPH] })
      yield* settle
      const latest = yield* acquire({ scopes: [GRAPH] })
      expect(Redacted.value(latest.accessToken)).toBe((yield* issuedTokens)[1])
    }).pipe(Effect.provide(testLayer({ client: { retry: false }, authority: { expiresIn: 3600, refreshIn: 1800 } }))))

  it.effect("an aging token that reaches the 5-minute buffer is fetched in the foreground", () =>
    Effect.gen(function*() {
      yield* acquire({ scopes: [GRAPH] })
      yield* TestClock.adjust("3301 seconds")
      const result = yield* acquire({ scopes: [GRAPH] })
      expect(result.tokenSource).toBe("identity_provider")
      expect((yield* lastTokenRequest).headers["x-client-current-telemetry"]).toBe("4|730,3|")
    }).pipe(Effect.provide(testLayer({ authority: { expiresIn: 3600, refreshIn: 1800 } }))))

  it.effect("background fibers stop when the client layer is released", () =>
    Effect.gen(function*() {
      const a = yield* TestAuthority.make({ expiresIn: 3600, refreshIn: 60 })
      const layer = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(TokenCache.layerMemory()),
        Layer.provide(TestAuthority.layerHttpClient),
        Layer.provide(Layer.succeed(TestAuthority.TestAuthority, a))
      )
      const aging = yield* Effect.gen(function*() {
        yield* acquire({ scopes: [GRAPH] })
        yield* TestClock.adjust("61 seconds")
        yield* a.configure({ latency: "1 hour" })
        const served = yield* acquire({ scopes: [GRAPH] })
        yield* settle
        return served
      }).pipe(Effect.provide(layer))
      expect(aging.tokenSource).toBe("cache")
      expect((yield* a.tokenRequests).length).toBe(2)
      // the layer is released: the background request was interrupted and never completes
      yield* TestClock.adjust("2 hours")
      expect((yield* a.issued).length).toBe(1)
    }))
})

describe("claims challenges and client capabilities", () => {
  const challenge = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1\"}}}"

  it.effect("a claims challenge bypasses the cache (reason 1) and its token replaces the cached one", () =>
    Effect.gen(function*() {
      yield* acquire({ scopes: [GRAPH] })
      const challenged = yield* acquire({ scopes: [GRAPH], claims: challenge })
      expect(challenged.tokenSource).toBe("identity_provider")
      const request = yield* lastTokenRequest
      expect(request.form.claims).toBe(challenge)
      expect(request.headers["x-client-current-telemetry"]).toBe("4|730,1|")
      const next = yield* acquire({ scopes: [GRAPH] })
      expect(next.tokenSource).toBe("cache")
      expect(Redacted.value(next.accessToken)).toBe((yield* issuedTokens)[1])
      const cache = yield* TokenCache.TokenCache
      expect((yield* cache.list("AccessToken")).length).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("capabilities are merged into claims exactly as MSAL does", () =>
    Effect.gen(function*() {
      yield* acquire({ scopes: [GRAPH] })
      expect((yield* lastTokenRequest).form.claims).toBe("{\"access_token\": {\"xms_cc\": {\"values\": [\"CP1\"]}}}")
      yield* acquire({ scopes: [GRAPH], claims: challenge })
      expect((yield* lastTokenRequest).form.claims).toBe(
        "{\"access_token\": {\"nbf\": {\"essential\": true, \"value\": \"1\"}, \"xms_cc\": {\"values\": [\"CP1\"]}}}"
      )
      yield* acquire({
        scopes: [GRAPH],
        claims:
          "{\"id_token\":{\"auth_time\":{\"essential\":true}},\"access_token\":{\"xms_cc\":{\"values\":[\"old\"]}}}"
      })
      expect((yield* lastTokenRequest).form.claims).toBe(
        "{\"id_token\": {\"auth_time\": {\"essential\": true}}, \"access_token\": {\"xms_cc\": {\"values\": [\"CP1\"]}}}"
      )
    }).pipe(Effect.provide(testLayer({ client: { clientCapabilities: ["CP1"] } }))))

  it.effect("a claims value that is not a JSON object is an InvalidRequest and sends nothing", () =>
    Effect.gen(function*() {
      for (const claims of ["not json", "[1]", "", "42"]) {
        const error = yield* Effect.flip(acquire({ scopes: [GRAPH], claims }))
        expect(error._tag).toBe("InvalidRequest")
      }
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))
})

describe("tenant override", () => {
  it.effect("acquires in the requested tenant and partitions the cache by tenant", () =>
    Effect.gen(function*() {
      const fabrikam = yield* acquire({ scopes: [GRAPH], tenant: "fabrikam.onmicrosoft.com" })
      // each domain is discovered: Entra answers with the tenant id's endpoints
      expect((yield* lastTokenRequest).url).toBe(
        "https://login.microsoftonline.com/cabbed0e-6c9b-415f-8188-499c22a8e53e/oauth2/v2.0/token"
      )
      expect(fabrikam.tenantId).toBe("cabbed0e-6c9b-415f-8188-499c22a8e53e")
      const contoso = yield* acquire({ scopes: [GRAPH] })
      expect(contoso.tokenSource).toBe("identity_provider")
      expect(contoso.tenantId).toBe("72f988bf-86f1-41af-91ab-2d7cd011db47")
      expect((yield* acquire({ scopes: [GRAPH], tenant: "fabrikam.onmicrosoft.com" })).tokenSource).toBe("cache")
      expect((yield* acquire({ scopes: [GRAPH], tenant: "contoso.onmicrosoft.com" })).tokenSource).toBe("cache")
      expect(yield* tokenRequestCount).toBe(2)
      const issued = yield* Effect.flatMap(authority, (a) => a.issued)
      expect(issued.map((t) => t.tenant)).toEqual([
        "cabbed0e-6c9b-415f-8188-499c22a8e53e",
        "72f988bf-86f1-41af-91ab-2d7cd011db47"
      ])
    }).pipe(Effect.provide(testLayer())))

  it.effect("rejects a malformed tenant before any I/O", () =>
    Effect.gen(function*() {
      for (const tenant of ["a/b", "", "../common", "x y"]) {
        const error = yield* Effect.flip(acquire({ scopes: [GRAPH], tenant }))
        expect(error._tag).toBe("InvalidRequest")
      }
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))
})

describe("input validation", () => {
  it.effect("scopes must be a non-empty array of non-empty strings", () =>
    Effect.gen(function*() {
      const bad: ReadonlyArray<unknown> = [
        [],
        [""],
        "https://graph.microsoft.com/.default",
        [1],
        [GRAPH, " "],
        [null],
        undefined
      ]
      for (const scopes of bad) {
        const error = yield* Effect.flip(acquire({ scopes } as never))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain("scope")
      }
      expect((yield* Effect.flip(acquire(null as never)))._tag).toBe("InvalidRequest")
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("bad options fail when the layer is built", () =>
    Effect.gen(function*() {
      const build = (options: ConfidentialClient.Options, secret = SECRET) =>
        Effect.flip(Effect.scoped(Layer.build(
          ConfidentialClient.layer(options).pipe(
            Layer.provide(CredentialSigner.layer(ClientCredential.secret(secret))),
            Layer.provide(TokenCache.layerMemory()),
            Layer.provide(TestAuthority.layerHttpClient),
            Layer.provide(TestAuthority.layer())
          )
        )))
      expect((yield* build({ clientId: "" }))._tag).toBe("InvalidRequest")
      expect((yield* build({ clientId: CLIENT_ID, authority: "http://login.microsoftonline.com/x" }))._tag).toBe(
        "AuthorityError"
      )
      expect((yield* build({ clientId: CLIENT_ID, authority: "https://login.microsoftonline.com" }))._tag).toBe(
        "AuthorityError"
      )
      expect((yield* build({ clientId: CLIENT_ID, authority: "not a url" }))._tag).toBe("AuthorityError")
      expect((yield* build({ clientId: CLIENT_ID }, ""))._tag).toBe("CredentialError")
    }))
})

describe("well-known hosts", () => {
  const hosts = [
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "login.microsoft.com",
    "login.windows.net",
    "sts.windows.net"
  ]
  for (const host of hosts) {
    it.effect(`${host}: endpoints from built-in metadata, no discovery request`, () =>
      Effect.gen(function*() {
        yield* acquire({ scopes: [GRAPH] })
        const requests = yield* Effect.flatMap(authority, (a) => a.requests)
        expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST https://${host}/contoso/oauth2/v2.0/token`])
      }).pipe(Effect.provide(testLayer({ client: { authority: `https://${host}/contoso` } }))))
  }

  it.effect("host aliases of the public cloud share cached app tokens", () =>
    Effect.gen(function*() {
      const cache = yield* TokenCache.TokenCache
      yield* acquire({ scopes: [GRAPH] })
      const [entry] = yield* cache.list("AccessToken")
      expect(entry!.environment).toBe("login.microsoftonline.com")
      const viaAlias = CacheEntry.keyOf("AccessToken", { ...entry!, environment: "login.windows.net" })
      expect(Option.isSome(yield* cache.get("AccessToken", viaAlias))).toBe(true)
    }).pipe(Effect.provide(testLayer())))
})

describe("single-flight", () => {
  it.effect("1,000 concurrent cold calls for one scope send exactly one request", () =>
    Effect.gen(function*() {
      const fibers = yield* Effect.forEach(
        Array.from({ length: 1000 }),
        () => Effect.fork(acquire({ scopes: [GRAPH] }))
      )
      yield* TestClock.adjust("200 millis")
      const results = yield* Effect.forEach(fibers, Fiber.join)
      expect(yield* tokenRequestCount).toBe(1)
      const tokens = new Set(results.map((r) => Redacted.value(r.accessToken)))
      expect(tokens.size).toBe(1)
    }).pipe(Effect.provide(testLayer({ client: { authority: BY_TENANT_ID }, authority: { latency: "200 millis" } }))))

  it.effect("interrupting the first caller does not fail the others", () =>
    Effect.gen(function*() {
      const first = yield* Effect.fork(acquire({ scopes: [GRAPH] }))
      yield* TestClock.adjust("50 millis")
      const second = yield* Effect.fork(acquire({ scopes: [GRAPH] }))
      yield* TestClock.adjust("50 millis")
      yield* Fiber.interrupt(first)
      yield* TestClock.adjust("200 millis")
      const result = yield* Fiber.join(second)
      expect(result.tokenSource).toBe("identity_provider")
      expect(yield* tokenRequestCount).toBe(1)
      expect(Exit.isInterrupted(yield* Fiber.await(first))).toBe(true)
    }).pipe(Effect.provide(testLayer({ client: { authority: BY_TENANT_ID }, authority: { latency: "200 millis" } }))))

  it.effect("different scopes and tenants are not joined", () =>
    Effect.gen(function*() {
      const calls = [
        acquire({ scopes: [GRAPH] }),
        acquire({ scopes: [GRAPH], tenant: "fabrikam" }),
        acquire({ scopes: ["https://vault.azure.net/.default"] })
      ]
      const fibers = yield* Effect.forEach(calls, Effect.fork)
      yield* TestClock.adjust("200 millis")
      yield* Effect.forEach(fibers, Fiber.join)
      expect(yield* tokenRequestCount).toBe(3)
    }).pipe(Effect.provide(testLayer({ client: { authority: BY_TENANT_ID }, authority: { latency: "200 millis" } }))))
})

describe("removeTokensForClient", () => {
  it.effect("removes the app's tokens in every tenant and nothing else", () =>
    Effect.gen(function*() {
      const c = yield* client
      const cache = yield* TokenCache.TokenCache
      yield* acquire({ scopes: [GRAPH] })
      yield* acquire({ scopes: [GRAPH], tenant: "fabrikam" })
      const [template] = yield* cache.list("AccessToken")
      yield* cache.modify([
        {
          _tag: "Put",
          section: "AccessToken",
          entry: { ...template!, home_account_id: "uid.utid", secret: Redacted.make("AT for user") }
        },
        { _tag: "Put", section: "AccessToken", entry: { ...template!, client_id: "another-app" } },
        {
          _tag: "Put",
          section: "AccessToken",
          entry: { ...template!, environment: "login.windows.net", realm: "tailspin" }
        }
      ])
      expect((yield* cache.list("AccessToken")).length).toBe(5)
      yield* c.removeTokensForClient()
      const left = yield* cache.list("AccessToken")
      expect(left.map((t) => [t.home_account_id, t.client_id]).sort()).toEqual([["", "another-app"], [
        "uid.utid",
        CLIENT_ID
      ]])
      expect((yield* acquire({ scopes: [GRAPH] })).tokenSource).toBe("identity_provider")
    }).pipe(Effect.provide(testLayer())))
})

describe("errors", () => {
  const aadError = {
    error: "invalid_scope",
    error_description: "AADSTS70011: The provided value for scope x is not valid.\r\nTrace ID: t\r\nCorrelation ID: c",
    error_codes: [70011],
    suberror: "consent_required",
    claims: "{\"access_token\":{\"capolids\":{\"essential\":true}}}",
    timestamp: "2026-11-22 04:00:00Z",
    trace_id: "trace-1",
    correlation_id: "corr-1"
  }

  const failWith = (response: TestAuthority.ScriptedResponse) =>
    Effect.gen(function*() {
      yield* (yield* authority).enqueue(response)
      return yield* Effect.flip(acquire({ scopes: [GRAPH] }))
    })

  it.effect("an OAuth error body becomes a ServerError with every field", () =>
    Effect.gen(function*() {
      const error = yield* failWith({ status: 400, body: aadError, headers: { "retry-after": "7" } })
      expect(error._tag).toBe("ServerError")
      const e = error as ServerError
      expect(e).toMatchObject({
        _tag: "ServerError",
        error: "invalid_scope",
        errorDescription: aadError.error_description,
        errorCodes: [70011],
        suberror: "consent_required",
        claims: aadError.claims,
        correlationId: "corr-1",
        traceId: "trace-1",
        status: 400,
        retryAfter: 7
      })
      expect(e.message).toBe(
        "invalid_scope (HTTP 400): AADSTS70011: The provided value for scope x is not valid.; Retry-After asked to wait 7 s " +
          "(correlation id corr-1, trace id trace-1)"
      )
    }).pipe(Effect.provide(testLayer())))

  it.effect("the test authority's own errors map too (unknown client, wrong secret, bad scope)", () =>
    Effect.gen(function*() {
      const wrong = yield* Effect.flip(acquire({ scopes: [GRAPH] }))
      expect(wrong._tag === "ServerError" && [wrong.error, wrong.status, wrong.errorCodes]).toEqual([
        "invalid_client",
        401,
        [7000215]
      ])
      expect(wrong._tag === "ServerError" && wrong.correlationId).toBe(
        (yield* lastTokenRequest).headers["client-request-id"]
      )
      const badScope = yield* Effect.flip(acquire({ scopes: ["User.Read"] }))
      expect(badScope._tag === "ServerError" && badScope.error).toBe("invalid_client")
    }).pipe(Effect.provide(testLayer({ authority: { clients: { [CLIENT_ID]: { secret: "another secret" } } } }))))

  it.effect("invalid_scope from the authority", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(acquire({ scopes: ["User.Read"] }))
      expect(error._tag === "ServerError" && [error.error, error.status, error.errorCodes]).toEqual([
        "invalid_scope",
        400,
        [1002012]
      ])
    }).pipe(Effect.provide(testLayer())))

  const table: ReadonlyArray<readonly [string, TestAuthority.ScriptedResponse, string, Record<string, unknown>]> = [
    ["200 carrying an OAuth error", { status: 200, body: { error: "invalid_grant" } }, "ServerError", {
      error: "invalid_grant",
      status: 200
    }],
    ["500 HTML page", { status: 500, body: "<html><body>Server Error</body></html>" }, "NetworkError", {
      reason: "Status",
      status: 500
    }],
    ["502 empty body", { status: 502, body: "" }, "NetworkError", { reason: "Status", status: 502 }],
    [
      "503 with Retry-After",
      { status: 503, body: { error: "temporarily_unavailable" }, headers: { "retry-after": "30" } },
      "NetworkError",
      { reason: "Status", status: 503, retryAfter: 30 }
    ],
    ["200 truncated JSON", { status: 200, body: "{\"access_token\":\"abc\",\"expires_in\":" }, "NetworkError", {
      reason: "InvalidResponse",
      status: 200
    }],
    ["200 without access_token", { status: 200, body: { token_type: "Bearer", expires_in: 3600 } }, "NetworkError", {
      reason: "InvalidResponse",
      status: 200
    }],
    ["200 with an empty access_token", { status: 200, body: { access_token: "", expires_in: 3600 } }, "NetworkError", {
      reason: "InvalidResponse"
    }],
    [
      "200 with expires_in not a number",
      { status: 200, body: { access_token: "AT-secret-value", expires_in: "soon" } },
      "NetworkError",
      { reason: "InvalidResponse" }
    ],
    ["200 plain text", { status: 200, body: "ok" }, "NetworkError", { reason: "InvalidResponse" }],
    ["404 non-JSON", { status: 404, body: "Not Found" }, "NetworkError", { reason: "InvalidResponse", status: 404 }],
    // a redirect is never followed: refused as such, whatever its body
    ["302 without an OAuth body", { status: 302, body: { location: "elsewhere" } }, "NetworkError", {
      reason: "Status",
      status: 302
    }],
    [
      "429 with an HTTP date",
      {
        status: 429,
        body: { error: "too_many_requests" },
        headers: { "retry-after": "Thu, 01 Jan 1970 00:01:40 GMT" }
      },
      "ServerError",
      { status: 429, retryAfter: 100 }
    ]
  ]
  for (const [name, response, tag, fields] of table) {
    it.effect(`${name} → ${tag}`, () =>
      Effect.gen(function*() {
        const error = yield* failWith(response)
        expect(error._tag).toBe(tag)
        expect(error).toMatchObject(fields)
        expect(error.message).not.toContain("AT-secret-value")
        expect(JSON.stringify(error)).not.toContain("AT-secret-value")
        expect((yield* Effect.flatMap(TokenCache.TokenCache, (c) => c.list("AccessToken"))).length).toBe(0)
      }).pipe(Effect.provide(testLayer({ client: { retry: false } }))))
  }

  it.effect("accepts expires_in as a numeric string, as Entra's v1 endpoints send it", () =>
    Effect.gen(function*() {
      yield* (yield* authority).enqueue({
        status: 200,
        body: { access_token: "AT", token_type: "Bearer", expires_in: "3599", ext_expires_in: "3599" }
      })
      const result = yield* acquire({ scopes: [GRAPH] })
      expect(result.expiresOn.getTime()).toBe(3599_000)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a transport failure is a NetworkError naming the endpoint, never a defect", () =>
    Effect.gen(function*() {
      const refusing = Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make((request) =>
          Effect.fail(
            new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("connect ECONNREFUSED") })
          )
        )
      )
      const layer = ConfidentialClient.layer({
        clientId: CLIENT_ID,
        authority: `https://login.microsoftonline.com/${TENANT_ID}`,
        retry: false
      }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(TokenCache.layerMemory()),
        Layer.provide(refusing)
      )
      // by tenant id: the token request is the first request (a domain would be discovered first)
      const error = yield* Effect.flip(acquire({ scopes: [GRAPH] }).pipe(Effect.provide(layer)))
      expect(error).toMatchObject({ _tag: "NetworkError", reason: "Transport", url: TOKEN_ENDPOINT })
      expect(error.message).toContain("ECONNREFUSED")
      expect(JSON.stringify(error)).not.toContain(SECRET)
    }))

  it.effect("no answer within the timeout is a NetworkError Timeout, and the request is abandoned", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.either(acquire({ scopes: [GRAPH] })))
      yield* TestClock.adjust("5 seconds")
      const outcome = yield* Fiber.join(fiber)
      expect(Either.isLeft(outcome) && outcome.left).toMatchObject({ _tag: "NetworkError", reason: "Timeout" })
      yield* TestClock.adjust("1 minute")
      expect((yield* Effect.flatMap(authority, (a) => a.issued)).length).toBe(0)
    }).pipe(Effect.provide(testLayer({ client: { timeout: "5 seconds" }, authority: { latency: "1 minute" } }))))

  it.effect("invalid_client asks the credential signer to reload", () =>
    Effect.gen(function*() {
      let reloads = 0
      const signer = Layer.succeed(CredentialSigner.CredentialSigner, {
        clientAuth: () => Effect.succeed({ client_secret: Redacted.make("wrong") }),
        reload: Effect.sync(() => {
          reloads++
        })
      })
      const layer = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
        Layer.provide(signer),
        Layer.provide(TokenCache.layerMemory()),
        Layer.provide(TestAuthority.layerHttpClient),
        Layer.provide(TestAuthority.layer({ clients: { [CLIENT_ID]: { secret: "right" } } }))
      )
      const error = yield* Effect.flip(acquire({ scopes: [GRAPH] }).pipe(Effect.provide(layer)))
      yield* settle
      expect(error._tag).toBe("ServerError")
      expect(reloads).toBe(1)
    }))

  it.effect("errors and results never show the secret or the token", () =>
    Effect.gen(function*() {
      const result = yield* acquire({ scopes: [GRAPH] })
      const token = Redacted.value(result.accessToken)
      for (const text of [String(result.accessToken), JSON.stringify(result), String(Object.values(result))]) {
        expect(text).not.toContain(token)
        expect(text).not.toContain(SECRET)
      }
      const credential = ClientCredential.secret(SECRET)
      expect(JSON.stringify(credential)).not.toContain(SECRET)
      expect(String((credential as ClientCredential.Secret).secret)).toBe("<redacted>")
    }).pipe(Effect.provide(testLayer()), Logger.withMinimumLogLevel(LogLevel.All)))
})
