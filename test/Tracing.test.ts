import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Metric, TestClock } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, Metrics, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { makeRecorder } from "./support/recording.js"
import type { RecordedSpan } from "./support/recording.js"
import { authority, AUTHORITY, client, CLIENT_ID, GRAPH, SECRET, testLayer } from "./support/harness.js"

const GRANT_SPAN = "ConfidentialClient.acquireTokenForClient"
const REQUEST_SPAN = "ConfidentialClient.tokenRequest"

const named = (spans: ReadonlyArray<RecordedSpan>, name: string) => spans.filter((s) => s.name === name)
const attrs = (span: RecordedSpan | undefined) => Object.fromEntries(span?.attributes ?? [])

/** Lets forked fibers (background refreshes) run. */
const settle = Effect.flatMap(Effect.yieldNow(), () => TestClock.adjust(0))

/** Runs `body` with a recording tracer; returns the spans recorded. */
const traced = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const recorder = yield* makeRecorder
    const value = yield* Effect.provide(body, recorder.layer)
    return { spans: recorder.spans, logs: recorder.logs, value }
  })

const everything = (spans: ReadonlyArray<RecordedSpan>, logs: ReadonlyArray<string>) =>
  [
    ...logs,
    ...spans.flatMap((s) => [
      s.name,
      ...Array.from(s.attributes, ([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`),
      ...s.events.map(([name, , a]) => `${name} ${JSON.stringify(a)}`)
    ])
  ].join("\n")

describe("spans", () => {
  it.effect("a grant span carries grant, tenant and cache outcome; its request span the status and attempts", () =>
    Effect.gen(function*() {
      const { spans } = yield* traced(Effect.gen(function*() {
        const c = yield* client
        yield* c.acquireTokenForClient({ scopes: [GRAPH] })
        yield* c.acquireTokenForClient({ scopes: [GRAPH] })
        yield* c.acquireTokenForClient({ scopes: [GRAPH], claims: "{\"access_token\":{\"nbf\":{\"essential\":true}}}" })
      }))
      const grants = named(spans, GRANT_SPAN).map(attrs)
      expect(grants).toEqual([
        expect.objectContaining({
          "msal.grant": "client_credentials",
          "msal.tenant": "contoso.onmicrosoft.com",
          "msal.cache": "miss"
        }),
        expect.objectContaining({
          "msal.grant": "client_credentials",
          "msal.tenant": "contoso.onmicrosoft.com",
          "msal.cache": "hit"
        }),
        expect.objectContaining({ "msal.cache": "bypass" })
      ])
      const requests = named(spans, REQUEST_SPAN).map(attrs)
      expect(requests).toHaveLength(2)
      expect(requests[0]).toMatchObject({
        "http.response.status_code": 200,
        "msal.attempts": 1,
        "msal.api_id": 730,
        "msal.refresh_reason": 2
      })
      expect(requests[1]).toMatchObject({ "msal.refresh_reason": 1 })
    }).pipe(Effect.provide(testLayer())))

  it.effect("a retried request: the last status and the number of attempts", () =>
    Effect.gen(function*() {
      yield* Effect.flatMap(authority, (a) => a.enqueue({ status: 503, body: "<html>busy</html>" }))
      const { spans } = yield* traced(Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flatMap(client, (c) => c.acquireTokenForClient({ scopes: [GRAPH] })))
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(fiber)
      }))
      expect(named(spans, REQUEST_SPAN).map(attrs)).toEqual([
        expect.objectContaining({ "http.response.status_code": 200, "msal.attempts": 2 })
      ])
    }).pipe(Effect.provide(testLayer())))

  it.effect("an error answer: its status is on the request span", () =>
    Effect.gen(function*() {
      const { spans } = yield* traced(
        Effect.exit(Effect.flatMap(client, (c) => c.acquireTokenForClient({ scopes: ["User.Read"] })))
      )
      expect(attrs(named(spans, REQUEST_SPAN)[0])).toMatchObject({
        "http.response.status_code": 400,
        "msal.attempts": 1
      })
    }).pipe(Effect.provide(testLayer({ client: { retry: false } }))))

  it.effect("a regional request carries the region", () =>
    Effect.gen(function*() {
      const { spans } = yield* traced(Effect.flatMap(client, (c) => c.acquireTokenForClient({ scopes: [GRAPH] })))
      expect(attrs(named(spans, REQUEST_SPAN)[0])).toMatchObject({ "msal.region": "westus2" })
      const [request] = yield* Effect.flatMap(authority, (a) => a.tokenRequests)
      expect(new URL(request!.url).host).toBe("westus2.login.microsoft.com")
    }).pipe(Effect.provide(testLayer({ client: { azureRegion: "westus2" } }))))

  it.effect("no secret, assertion or token in any span or log line", () => {
    const ASSERTION = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhcHAifQ.PRESIGNED-ASSERTION-SIGNATURE"
    const Live = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, retry: false }).pipe(
      Layer.provide(CredentialSigner.layer(ClientCredential.assertion(ASSERTION))),
      Layer.provide(TokenCache.layerMemory()),
      Layer.provide(TestAuthority.layerHttpClient),
      Layer.provideMerge(TestAuthority.layer())
    )
    return Effect.gen(function*() {
      const { logs, spans } = yield* traced(Effect.gen(function*() {
        const c = yield* client
        yield* c.acquireTokenForClient({ scopes: [GRAPH] })
        yield* c.acquireTokenForClient({ scopes: [GRAPH], tenant: "fabrikam.onmicrosoft.com" })
        yield* Effect.exit(c.acquireTokenForClient({ scopes: ["User.Read"] }))
      }))
      const text = everything(spans, logs)
      expect(spans.length).toBeGreaterThan(3)
      expect(text).not.toContain(ASSERTION)
      expect(text).not.toContain("PRESIGNED-ASSERTION-SIGNATURE")
      expect(text).not.toContain(SECRET)
      for (const t of yield* Effect.flatMap(authority, (a) => a.issued)) expect(text).not.toContain(t.accessToken)
    }).pipe(Effect.provide(Live))
  })
})

describe("metrics", () => {
  it.effect("cache hits, misses, network requests and background refreshes are counted", () =>
    Effect.gen(function*() {
      const before = yield* Metrics.totals
      const c = yield* client
      yield* c.acquireTokenForClient({ scopes: [GRAPH] }) // miss, 1 request
      yield* c.acquireTokenForClient({ scopes: [GRAPH] }) // hit
      yield* c.acquireTokenForClient({ scopes: [GRAPH], claims: "{}" }) // bypass: neither, 1 request
      yield* TestClock.adjust("31 minutes") // past refresh_in
      yield* c.acquireTokenForClient({ scopes: [GRAPH] }) // aging: a hit, and a refresh in the background
      yield* settle
      const after = yield* Metrics.totals
      expect({
        cacheHits: after.cacheHits - before.cacheHits,
        cacheMisses: after.cacheMisses - before.cacheMisses,
        networkRequests: after.networkRequests - before.networkRequests,
        refreshes: after.refreshes - before.refreshes
      }).toEqual({ cacheHits: 2, cacheMisses: 1, networkRequests: 3, refreshes: 1 })
    }).pipe(Effect.provide(testLayer({ authority: { refreshIn: 1800 } }))))

  it.effect("on-behalf-of: a miss, a hit, and an aging token refreshed on the request path", () =>
    Effect.gen(function*() {
      const assertion = yield* Effect.flatMap(authority, (a) => a.userAssertion({ audience: CLIENT_ID }))
      const obo = Effect.flatMap(
        client,
        (c) => c.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: ["https://graph.microsoft.com/User.Read"] })
      )
      const before = yield* Metrics.totals
      const { spans } = yield* traced(Effect.gen(function*() {
        yield* obo
        yield* obo
        yield* TestClock.adjust("31 minutes")
        yield* obo
      }))
      const after = yield* Metrics.totals
      expect(named(spans, "ConfidentialClient.acquireTokenOnBehalfOf").map((s) => attrs(s)["msal.cache"])).toEqual([
        "miss",
        "hit",
        "aging"
      ])
      expect(named(spans, "ConfidentialClient.acquireTokenOnBehalfOf").map((s) => attrs(s)["msal.grant"])).toEqual([
        "on_behalf_of",
        "on_behalf_of",
        "on_behalf_of"
      ])
      expect({
        cacheHits: after.cacheHits - before.cacheHits,
        cacheMisses: after.cacheMisses - before.cacheMisses,
        refreshes: after.refreshes - before.refreshes
      }).toEqual({ cacheHits: 1, cacheMisses: 2, refreshes: 1 })
    }).pipe(Effect.provide(testLayer({ authority: { refreshIn: 1800 } }))))

  it.effect("network requests are tagged with the grant and the status of each attempt", () =>
    Effect.gen(function*() {
      const count = (status: string) =>
        Effect.map(
          Metric.value(
            Metric.tagged(Metric.tagged(Metrics.networkRequests, "grant", "client_credentials"), "status", status)
          ),
          (state) => state.count
        )
      const [ok, failed] = [yield* count("200"), yield* count("500")]
      yield* Effect.flatMap(authority, (a) => a.enqueue({ status: 500, body: "<html>oops</html>" }))
      const fiber = yield* Effect.fork(Effect.flatMap(client, (c) => c.acquireTokenForClient({ scopes: [GRAPH] })))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect([(yield* count("200")) - ok, (yield* count("500")) - failed]).toEqual([1, 1])
    }).pipe(Effect.provide(testLayer())))
})
