import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Logger, LogLevel, Redacted, TestClock } from "effect"
import { TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { createHash } from "node:crypto"
import {
  acquire,
  advanceWhenSleeping,
  untilSleeping,
  ARM,
  eventually,
  environments,
  IDENTITY_HEADER,
  inProcess,
  mi,
  MSI_SECRET,
  requests,
  tempDirectory,
  withArcDirectory,
  withEnvironment
} from "./support/managedIdentity.js"

const BASE = "http://127.0.0.1:41741"
const ENV = environments(BASE)
const authority = TestAuthority.TestAuthority
const issued = Effect.flatMap(authority, (a) => a.issued)

const USER = {
  clientId: "0e0e0e0e-1111-4222-8333-000000000c1d",
  objectId: "0e0e0e0e-1111-4222-8333-000000000b1d",
  resourceId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua"
}
const SETTINGS: Partial<TestAuthority.Settings> = { managedIdentity: { userAssigned: [USER] } }

describe("ManagedIdentity on IMDS (in-process)", () => {
  const run = <A, E>(effect: Effect.Effect<A, E, any>, options?: Parameters<typeof inProcess>[0]) =>
    effect.pipe(Effect.provide(inProcess(options, SETTINGS)), withEnvironment(ENV.Imds)) as Effect.Effect<A, E>

  it.effect("gets a token, sends exactly IMDS's request, then serves it from the cache", () =>
    run(Effect.gen(function*() {
      const first = yield* acquire({ resource: `${ARM}/.default` })
      const second = yield* acquire({ resource: ARM })
      expect(first.tokenSource).toBe("identity_provider")
      expect(second.tokenSource).toBe("cache")
      expect(Redacted.value(second.accessToken)).toBe(Redacted.value(first.accessToken))
      expect(first.scopes).toEqual([ARM])
      expect(first.tokenType).toBe("Bearer")
      expect(first.tenantId).toBe("72f988bf-86f1-41af-91ab-2d7cd011db47")
      expect(first.expiresOn.getTime()).toBe(86399_000)
      expect(first.refreshOn?.getTime()).toBe(43199_000)
      const sent = yield* requests
      expect(sent).toHaveLength(1)
      expect(sent[0]!.method).toBe("GET")
      expect(sent[0]!.url).toBe(
        "http://127.0.0.1:41741/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com"
      )
      expect(sent[0]!.headers.metadata).toBe("true")
      expect(yield* Effect.flatMap(mi, (m) => m.source)).toBe("Imds")
    })))

  it.effect("caches the token as msal-node does (key, realm, client id, target)", () =>
    run(Effect.gen(function*() {
      yield* acquire({ resource: ARM })
      const json = JSON.parse(yield* TokenCache.serialize) as { AccessToken: Record<string, Record<string, string>> }
      const key =
        "-login.microsoftonline.com-accesstoken-system_assigned_managed_identity-managed_identity-https://management.azure.com"
      const entry = json.AccessToken[key]!
      expect(Object.keys(json.AccessToken)).toEqual([key])
      expect(entry).toMatchObject({
        credential_type: "AccessToken",
        home_account_id: "",
        environment: "login.microsoftonline.com",
        client_id: "system_assigned_managed_identity",
        realm: "managed_identity",
        target: "https://management.azure.com",
        token_type: "Bearer",
        cached_at: "0",
        expires_on: "86399",
        extended_expires_on: "86399",
        refresh_on: "43199"
      })
    })))

  it.effect("a token in a shared cache written by another instance is served without a request", () =>
    run(Effect.gen(function*() {
      yield* TokenCache.deserialize(JSON.stringify({
        AccessToken: {
          "-login.microsoftonline.com-accesstoken-system_assigned_managed_identity-managed_identity-https://vault.azure.net":
            {
              credential_type: "AccessToken",
              secret: "from-msal-node",
              home_account_id: "",
              environment: "login.microsoftonline.com",
              client_id: "system_assigned_managed_identity",
              realm: "managed_identity",
              target: "https://vault.azure.net",
              cached_at: "0",
              expires_on: "3600",
              extended_expires_on: "3600",
              token_type: "Bearer"
            }
        }
      }))
      const result = yield* acquire({ resource: "https://vault.azure.net" })
      expect(Redacted.value(result.accessToken)).toBe("from-msal-node")
      expect(yield* requests).toHaveLength(0)
    })))

  it.effect("user-assigned by client id, object id and resource id: IMDS's parameter names, one cache entry each", () =>
    Effect.gen(function*() {
      const cases = [
        [{ clientId: USER.clientId }, `client_id=${USER.clientId}`, USER.clientId],
        [{ objectId: USER.objectId }, `object_id=${USER.objectId}`, USER.objectId],
        [{ resourceId: USER.resourceId }, `msi_res_id=${encodeURIComponent(USER.resourceId)}`, USER.resourceId]
      ] as const
      for (const [options, parameter, cacheId] of cases) {
        yield* Effect.gen(function*() {
          yield* acquire({ resource: ARM })
          const sent = yield* requests
          expect(sent[0]!.url.endsWith(`&${parameter}`)).toBe(true)
          const tokens = yield* issued
          expect(tokens[0]!.clientId).toBe(USER.clientId)
          const json = JSON.parse(yield* TokenCache.serialize) as { AccessToken: Record<string, { client_id: string }> }
          expect(Object.values(json.AccessToken).map((e) => e.client_id)).toEqual([cacheId])
        }).pipe(Effect.provide(inProcess(options, SETTINGS)), withEnvironment(ENV.Imds))
      }
    }))

  it.effect("an unknown identity is IMDS's 400, not retried", () =>
    run(
      Effect.gen(function*() {
        const error = yield* Effect.flip(acquire({ resource: ARM }))
        expect(error).toMatchObject({
          _tag: "ServerError",
          error: "invalid_request",
          errorDescription: "Identity not found",
          status: 400
        })
        expect(yield* requests).toHaveLength(1)
      }),
      { clientId: "not-a-known-identity" }
    ))

  it.effect("404, 408, 429 and 5xx are retried after 1 s, 2 s and 4 s, then the last answer is the error", () =>
    run(Effect.gen(function*() {
      const a = yield* authority
      yield* a.enqueue({ status: 500, body: { error: "server_error" } }, { status: 429, body: {} }, {
        status: 404,
        body: {}
      }, { status: 503, body: "<html/>" })
      const fiber = yield* Effect.fork(Effect.flip(acquire({ resource: ARM })))
      yield* untilSleeping(1000)
      yield* TestClock.adjust("999 millis")
      expect(yield* requests).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      yield* untilSleeping(2000)
      expect(yield* requests).toHaveLength(2)
      yield* TestClock.adjust("2 seconds")
      yield* untilSleeping(4000)
      expect(yield* requests).toHaveLength(3)
      yield* TestClock.adjust("3999 millis")
      expect(yield* requests).toHaveLength(3)
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "NetworkError", reason: "Status", status: 503 })
      expect(yield* requests).toHaveLength(4)
    })))

  it.effect("410 (IMDS updating) is retried every 10 s for 70 s", () =>
    run(Effect.gen(function*() {
      const a = yield* authority
      yield* a.enqueue(...Array.from({ length: 7 }, () => ({ status: 410, body: { error: "gone" } })))
      const fiber = yield* Effect.fork(acquire({ resource: ARM }))
      for (let i = 0; i < 6; i++) yield* advanceWhenSleeping(10_000)
      yield* untilSleeping(10_000)
      yield* TestClock.adjust("9999 millis")
      expect(yield* requests).toHaveLength(7)
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      expect(result.tokenSource).toBe("identity_provider")
      expect(yield* requests).toHaveLength(8)
    })))

  it.effect("after 70 s of 410 the error is returned", () =>
    run(Effect.gen(function*() {
      const a = yield* authority
      yield* a.enqueue(
        ...Array.from({ length: 8 }, () => ({ status: 410, body: { error: "gone", error_description: "updating" } }))
      )
      const fiber = yield* Effect.fork(Effect.flip(acquire({ resource: ARM })))
      for (let i = 0; i < 7; i++) yield* advanceWhenSleeping(10_000)
      expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "ServerError", error: "gone", status: 410 })
      expect(yield* requests).toHaveLength(8)
    })))

  it.effect("after a final 429 the same request is throttled: no request until the window closes", () =>
    run(Effect.gen(function*() {
      const a = yield* authority
      yield* a.enqueue(
        ...Array.from(
          { length: 4 },
          () => ({ status: 429, body: { error: "too_many" }, headers: { "retry-after": "30" } })
        )
      )
      const fiber = yield* Effect.fork(Effect.flip(acquire({ resource: ARM })))
      for (const millis of [1000, 2000, 4000]) yield* advanceWhenSleeping(millis)
      expect((yield* Fiber.join(fiber))._tag).toBe("ServerError")
      expect(yield* requests).toHaveLength(4)
      expect(yield* Effect.flip(acquire({ resource: ARM }))).toMatchObject({ _tag: "Throttled" })
      expect(yield* requests).toHaveLength(4)
      yield* TestClock.adjust("30 seconds")
      expect((yield* acquire({ resource: ARM })).tokenSource).toBe("identity_provider")
    })))

  it.effect("concurrent requests for one resource make one request", () =>
    run(Effect.gen(function*() {
      const a = yield* authority
      yield* a.configure({ latency: "100 millis" })
      const fibers = yield* Effect.all(Array.from({ length: 5 }, () => Effect.fork(acquire({ resource: ARM }))))
      yield* advanceWhenSleeping(100)
      const results = yield* Effect.all(fibers.map(Fiber.join))
      expect(new Set(results.map((r) => Redacted.value(r.accessToken))).size).toBe(1)
      expect(yield* requests).toHaveLength(1)
    })))

  it.effect("an aging token (past half its life) is served and refreshed in the background", () =>
    run(Effect.gen(function*() {
      const first = yield* acquire({ resource: ARM })
      yield* TestClock.adjust("43200 seconds")
      const aging = yield* acquire({ resource: ARM })
      expect(aging.tokenSource).toBe("cache")
      expect(Redacted.value(aging.accessToken)).toBe(Redacted.value(first.accessToken))
      // the refresh runs off the request path: the renewed token is served from the cache once stored
      yield* eventually(
        Effect.map(
          acquire({ resource: ARM }),
          (next) =>
            next.tokenSource === "cache" && Redacted.value(next.accessToken) !== Redacted.value(first.accessToken)
        )
      )
      expect(yield* requests).toHaveLength(2)
    })))

  it.effect("a token within 5 minutes of expiry is not served", () =>
    run(Effect.gen(function*() {
      yield* acquire({ resource: ARM })
      yield* TestClock.adjust(`${86399 - 299} seconds`)
      expect((yield* acquire({ resource: ARM })).tokenSource).toBe("identity_provider")
    })))

  it.effect("claims and forceRefresh skip the cache; IMDS gets no token_sha256_to_refresh", () =>
    run(Effect.gen(function*() {
      yield* acquire({ resource: ARM })
      expect((yield* acquire({ resource: ARM, forceRefresh: true })).tokenSource).toBe("identity_provider")
      expect(
        (yield* acquire({ resource: ARM, claims: "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1\"}}}" }))
          .tokenSource
      )
        .toBe("identity_provider")
      const sent = yield* requests
      expect(sent).toHaveLength(3)
      expect(sent.every((r) => !r.url.includes("token_sha256_to_refresh"))).toBe(true)
    })))

  it.effect("a redirect is never followed: NetworkError naming the status and the Location's origin", () =>
    run(Effect.gen(function*() {
      const a = yield* authority
      yield* a.enqueue({ status: 302, headers: { location: "https://elsewhere.example/token?secret=1" } })
      const error = yield* Effect.flip(acquire({ resource: ARM }))
      expect(error).toMatchObject({ _tag: "NetworkError", reason: "Status", status: 302 })
      expect(error.message).toContain("https://elsewhere.example")
      expect(error.message).not.toContain("secret=1")
      expect(yield* requests).toHaveLength(1)
    })))

  it.effect("a broken connection is a NetworkError, not retried", () =>
    run(Effect.gen(function*() {
      const a = yield* authority
      yield* a.enqueue({ status: 0, fault: "disconnect" })
      expect(yield* Effect.flip(acquire({ resource: ARM }))).toMatchObject({
        _tag: "NetworkError",
        reason: "Transport"
      })
      expect(yield* requests).toHaveLength(1)
    })))

  it.effect("bad requests and options are InvalidRequests", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(acquire({ resource: " " }))).toMatchObject({
        _tag: "InvalidRequest",
        field: "resource"
      })
      expect(yield* Effect.flip(acquire(null as never))).toMatchObject({ _tag: "InvalidRequest" })
      expect(yield* Effect.flip(acquire({ resource: ARM, claims: 1 as never }))).toMatchObject({
        _tag: "InvalidRequest",
        field: "claims"
      })
      const both = yield* Effect.flip(
        acquire({ resource: ARM }).pipe(Effect.provide(inProcess({ clientId: "a", objectId: "b" })))
      )
      expect(both).toMatchObject({ _tag: "InvalidRequest", field: "managedIdentity" })
      const empty = yield* Effect.flip(acquire({ resource: ARM }).pipe(Effect.provide(inProcess({ clientId: "" }))))
      expect(empty).toMatchObject({ _tag: "InvalidRequest", field: "clientId" })
    }).pipe(Effect.provide(inProcess()), withEnvironment(ENV.Imds)))
})

describe("the other sources (in-process)", () => {
  it.effect("App Service: X-IDENTITY-HEADER and api-version 2019-08-01; 503 retried after 1 s", () =>
    Effect.gen(function*() {
      const a = yield* authority
      yield* a.enqueue({ status: 503, body: { statusCode: 503, message: "busy" } })
      const fiber = yield* Effect.fork(acquire({ resource: ARM }))
      yield* advanceWhenSleeping(1000)
      const result = yield* Fiber.join(fiber)
      expect(result.tokenSource).toBe("identity_provider")
      const sent = yield* requests
      expect(sent).toHaveLength(2)
      expect(sent[1]!.url).toBe(
        `${BASE}/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com&mi_res_id=${
          encodeURIComponent(USER.resourceId)
        }`
      )
      expect(sent[1]!.headers["x-identity-header"]).toBe(IDENTITY_HEADER)
      expect((yield* issued)[0]!.grantType).toBe("managed_identity:AppService")
    }).pipe(Effect.provide(inProcess({ resourceId: USER.resourceId }, SETTINGS)), withEnvironment(ENV.AppService)))

  it.effect("App Service: a wrong header is its 401 shape, not retried", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(acquire({ resource: ARM }))
      expect(error).toMatchObject({
        _tag: "ServerError",
        status: 401,
        errorDescription: "Unauthorized: the request's secret header is missing or wrong."
      })
      expect(yield* requests).toHaveLength(1)
    }).pipe(Effect.provide(inProcess()), withEnvironment({ ...ENV.AppService, IDENTITY_HEADER: "wrong" })))

  it.effect("Service Fabric: secret header; claims send the cached token's SHA-256 and client capabilities", () =>
    Effect.gen(function*() {
      const first = yield* acquire({ resource: ARM })
      yield* acquire({ resource: ARM, claims: "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1\"}}}" })
      const sent = yield* requests
      expect(sent).toHaveLength(2)
      expect(sent[0]!.headers.secret).toBe(IDENTITY_HEADER)
      expect(sent[0]!.url).toBe(
        `${BASE}/metadata/identity/oauth2/token?api-version=2019-07-01-preview&resource=https%3A%2F%2Fmanagement.azure.com&xms_cc=cp1`
      )
      const sha = createHash("sha256").update(Redacted.value(first.accessToken)).digest("hex")
      expect(sent[1]!.url).toBe(
        `${BASE}/metadata/identity/oauth2/token?api-version=2019-07-01-preview&resource=https%3A%2F%2Fmanagement.azure.com&token_sha256_to_refresh=${sha}&xms_cc=cp1`
      )
    }).pipe(Effect.provide(inProcess({ clientCapabilities: ["cp1"] })), withEnvironment(ENV.ServiceFabric)))

  it.effect("Service Fabric: a missing secret is its nested error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(acquire({ resource: ARM }))
      expect(error).toMatchObject({
        _tag: "ServerError",
        status: 401,
        error: "SecretHeaderNotFound",
        errorDescription: "Secret is not found in the request headers."
      })
    }).pipe(Effect.provide(inProcess()), withEnvironment({ ...ENV.ServiceFabric, IDENTITY_HEADER: "nope" })))

  it.effect("Azure ML: Metadata and secret headers, clientid from DEFAULT_IDENTITY_CLIENT_ID; a user-assigned client id", () =>
    Effect.gen(function*() {
      yield* acquire({ resource: ARM }).pipe(
        Effect.provide(inProcess(undefined, SETTINGS)),
        withEnvironment({ ...ENV.MachineLearning, DEFAULT_IDENTITY_CLIENT_ID: "5a1c0e7e-0000-4000-8000-00000000c11e" })
      )
      yield* Effect.gen(function*() {
        yield* acquire({ resource: ARM })
        const sent = yield* requests
        expect(sent[0]!.url).toBe(
          `${BASE}/msi/token?api-version=2017-09-01&resource=https%3A%2F%2Fmanagement.azure.com&clientid=${USER.clientId}`
        )
        expect(sent[0]!.headers.secret).toBe(MSI_SECRET)
        expect(sent[0]!.headers.metadata).toBe("true")
        expect((yield* issued)[0]!.clientId).toBe(USER.clientId)
      }).pipe(Effect.provide(inProcess({ clientId: USER.clientId }, SETTINGS)), withEnvironment(ENV.MachineLearning))
      const error = yield* Effect.flip(
        acquire({ resource: ARM }).pipe(
          Effect.provide(inProcess({ objectId: USER.objectId }, SETTINGS)),
          withEnvironment(ENV.MachineLearning)
        )
      )
      expect(error).toMatchObject({ _tag: "InvalidRequest", field: "managedIdentity" })
    }))

  it.effect("Cloud Shell: a form POST of the resource; user-assigned is refused before any request", () =>
    Effect.gen(function*() {
      yield* Effect.gen(function*() {
        const result = yield* acquire({ resource: ARM })
        expect(result.tokenSource).toBe("identity_provider")
        const sent = yield* requests
        expect(sent[0]).toMatchObject({ method: "POST", url: `${BASE}/oauth2/token`, form: { resource: ARM } })
        expect(sent[0]!.headers.metadata).toBe("true")
      }).pipe(Effect.provide(inProcess()), withEnvironment(ENV.CloudShell))
      yield* Effect.gen(function*() {
        const error = yield* Effect.flip(acquire({ resource: ARM }))
        expect(error).toMatchObject({
          _tag: "InvalidRequest",
          description: "the detected managed identity source CloudShell supports only a system-assigned identity"
        })
        expect(yield* requests).toHaveLength(0)
      }).pipe(Effect.provide(inProcess({ objectId: USER.objectId })), withEnvironment(ENV.CloudShell))
    }))

  it.scoped("Azure Arc: the 401 challenge, the key file read from the agent's directory, then the token", () =>
    Effect.gen(function*() {
      const dir = yield* tempDirectory
      yield* Effect.gen(function*() {
        const result = yield* acquire({ resource: ARM })
        expect(result.tokenSource).toBe("identity_provider")
        const sent = yield* requests
        expect(sent).toHaveLength(2)
        expect(sent[0]!.url).toBe(
          `${BASE}/metadata/identity/oauth2/token?api-version=2019-11-01&resource=https%3A%2F%2Fmanagement.azure.com`
        )
        expect(sent[0]!.headers.authorization).toBeUndefined()
        expect(sent[1]!.headers.authorization).toMatch(/^Basic [0-9a-f]{64}$/)
        expect((yield* issued)[0]!.grantType).toBe("managed_identity:AzureArc")
      }).pipe(
        Effect.provide(inProcess(undefined, { managedIdentity: { arcKeyDirectory: dir } })),
        withEnvironment(ENV.AzureArc),
        withArcDirectory(dir)
      )
    }))

  it.scoped("Azure Arc: a key file outside the agent's directory is refused and never sent", () =>
    Effect.gen(function*() {
      const served = yield* tempDirectory
      const expected = yield* tempDirectory
      yield* Effect.gen(function*() {
        const error = yield* Effect.flip(acquire({ resource: ARM }))
        expect(error).toMatchObject({
          _tag: "NetworkError",
          description: "Azure Arc's challenge names a key file outside the agent's token directory"
        })
        expect(yield* requests).toHaveLength(1)
      }).pipe(
        Effect.provide(inProcess(undefined, { managedIdentity: { arcKeyDirectory: served } })),
        withEnvironment(ENV.AzureArc),
        withArcDirectory(expected)
      )
    }))

  it.effect("Azure Arc: a user-assigned identity is an InvalidRequest", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(acquire({ resource: ARM }))).toMatchObject({
        _tag: "InvalidRequest",
        description: "the detected managed identity source AzureArc supports only a system-assigned identity"
      })
    }).pipe(Effect.provide(inProcess({ clientId: USER.clientId })), withEnvironment(ENV.AzureArc)))
})

describe("secrets stay out of logs and errors", () => {
  it.scoped("the identity header, the MSI secret, Arc's key and tokens never reach a log line or an error", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ annotations, message }) => {
        lines.push(JSON.stringify({ message, annotations: [...annotations] }))
      })
      const dir = yield* tempDirectory
      const secrets: Array<string> = [IDENTITY_HEADER, MSI_SECRET]
      const capture = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
          Logger.withMinimumLogLevel(LogLevel.All)
        )
      for (const [name, env] of Object.entries(ENV)) {
        const outcome = yield* Effect.gen(function*() {
          const a = yield* authority
          yield* a.enqueue({ status: 500, body: { error: "boom" } })
          const fiber = yield* Effect.fork(Effect.either(acquire({ resource: ARM })))
          yield* advanceWhenSleeping(1000)
          const result = yield* Fiber.join(fiber)
          const keys = (yield* requests).map((r) => r.headers.authorization).filter((h): h is string => h !== undefined)
          const tokens = (yield* issued).map((t) => t.accessToken)
          return { result, keys, tokens }
        }).pipe(
          Effect.provide(inProcess(undefined, { managedIdentity: { arcKeyDirectory: dir } })),
          withEnvironment(env),
          withArcDirectory(dir),
          capture
        )
        secrets.push(...outcome.keys.map((k) => k.slice("Basic ".length)), ...outcome.tokens)
        expect(outcome.result._tag, name).toBe("Right")
      }
      const error = yield* Effect.flip(
        acquire({ resource: ARM }).pipe(
          Effect.provide(inProcess()),
          withEnvironment({ ...ENV.AppService, IDENTITY_HEADER: "a-wrong-header-value" }),
          capture
        )
      )
      secrets.push("a-wrong-header-value")
      const everything = [...lines, JSON.stringify(error), error.message].join("\n")
      expect(lines.length).toBeGreaterThan(0)
      for (const secret of secrets) expect(everything).not.toContain(secret)
    }))
})
