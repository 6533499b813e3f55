import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Redacted } from "effect"
import * as TestAuthority from "effect-msal/TestAuthority"
import {
  acquire,
  advanceWhenSleeping,
  ARM,
  environments,
  overHttp,
  requests,
  tempDirectory,
  withArcDirectory,
  withEnvironment
} from "./support/managedIdentity.js"

const authority = TestAuthority.TestAuthority
const USER = { clientId: "0e0e0e0e-1111-4222-8333-000000000c1d", objectId: "0e0e0e0e-1111-4222-8333-000000000b1d" }

/** A served authority (real HTTP on 127.0.0.1) and the environment naming each source on it. */
const served = () => Effect.map(TestAuthority.serve(), (server) => ({ server, env: environments(server.url) }))

const withAuthority = (settings?: Partial<TestAuthority.Settings>) =>
  Effect.provide(TestAuthority.layer({ managedIdentity: { userAssigned: [USER] }, ...settings }))

/**
 * The authority answers the first request with `answer`; the token call is retried once
 * `millis` of the TestClock have passed. Its result and the requests sent.
 */
const retriedAfter = (answer: TestAuthority.ScriptedResponse, millis: number) =>
  Effect.gen(function*() {
    yield* (yield* authority).enqueue(answer)
    const fiber = yield* Effect.fork(acquire({ resource: ARM }))
    yield* advanceWhenSleeping(millis)
    const result = yield* Fiber.join(fiber)
    return { result, sent: yield* requests }
  })

/** The error of a token call with these environment variables. */
const failureWith = (env: Readonly<Record<string, string>>) =>
  Effect.flip(acquire({ resource: ARM }).pipe(Effect.provide(overHttp()), withEnvironment(env)))

describe("ManagedIdentity over real HTTP (127.0.0.1)", () => {
  it.scoped("IMDS: a 500 is retried after 1 s, then the token is served from the cache", () =>
    Effect.gen(function*() {
      const { env } = yield* served()
      yield* Effect.gen(function*() {
        const { result } = yield* retriedAfter({ status: 500, body: { error: "server_error" } }, 1000)
        const second = yield* acquire({ resource: ARM })
        expect([result.tokenSource, second.tokenSource]).toEqual(["identity_provider", "cache"])
        const sent = yield* requests
        expect(sent).toHaveLength(2)
        expect(sent[1]!.path).toBe("/metadata/identity/oauth2/token")
        expect(sent[1]!.headers.metadata).toBe("true")
      }).pipe(Effect.provide(overHttp()), withEnvironment(env.Imds))
    }).pipe(withAuthority()))

  it.scoped("IMDS: an unknown identity is IMDS's 400 error", () =>
    Effect.gen(function*() {
      const { env } = yield* served()
      const error = yield* Effect.flip(
        acquire({ resource: ARM }).pipe(Effect.provide(overHttp({ objectId: "nobody" })), withEnvironment(env.Imds))
      )
      expect(error).toMatchObject({ _tag: "ServerError", status: 400, errorDescription: "Identity not found" })
    }).pipe(withAuthority()))

  it.scoped("App Service: a 429 waits for its Retry-After; a wrong header is a 401", () =>
    Effect.gen(function*() {
      const { env } = yield* served()
      yield* Effect.gen(function*() {
        const { result, sent } = yield* retriedAfter({
          status: 429,
          body: { statusCode: 429, message: "slow down" },
          headers: { "retry-after": "3" }
        }, 3000)
        expect(result.tokenSource).toBe("identity_provider")
        expect(sent).toHaveLength(2)
        expect(sent[1]!.url).toContain(
          `/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com&client_id=${USER.clientId}`
        )
      }).pipe(Effect.provide(overHttp({ clientId: USER.clientId })), withEnvironment(env.AppService))
      const error = yield* failureWith({ ...env.AppService, IDENTITY_HEADER: "wrong" })
      expect(error).toMatchObject({ _tag: "ServerError", status: 401 })
    }).pipe(withAuthority()))

  it.scoped("Service Fabric: a 503 is retried after 1 s; a missing secret is SecretHeaderNotFound", () =>
    Effect.gen(function*() {
      const { env } = yield* served()
      yield* Effect.gen(function*() {
        const { result, sent } = yield* retriedAfter({
          status: 503,
          body: { error: { code: "ServiceUnavailable", message: "later" } }
        }, 1000)
        expect(result.tokenSource).toBe("identity_provider")
        expect(sent.map((r) => r.headers.secret)).toEqual(["test-identity-header", "test-identity-header"])
      }).pipe(Effect.provide(overHttp()), withEnvironment(env.ServiceFabric))
      const error = yield* failureWith({ ...env.ServiceFabric, IDENTITY_HEADER: "x" })
      expect(error).toMatchObject({ _tag: "ServerError", status: 401, error: "SecretHeaderNotFound" })
    }).pipe(withAuthority()))

  it.scoped("Azure ML: a 404 is retried after 1 s; a wrong secret is a 401", () =>
    Effect.gen(function*() {
      const { env } = yield* served()
      yield* Effect.gen(function*() {
        const { result, sent } = yield* retriedAfter(
          { status: 404, body: { statusCode: 404, message: "not yet" } },
          1000
        )
        expect(result.tokenSource).toBe("identity_provider")
        expect(sent[1]!.url).toContain(
          `api-version=2017-09-01&resource=https%3A%2F%2Fmanagement.azure.com&clientid=${USER.clientId}`
        )
        expect(sent[1]!.headers.secret).toBe("test-msi-secret")
      }).pipe(Effect.provide(overHttp({ clientId: USER.clientId })), withEnvironment(env.MachineLearning))
      const error = yield* failureWith({ ...env.MachineLearning, MSI_SECRET: "x" })
      expect(error).toMatchObject({ _tag: "ServerError", status: 401 })
    }).pipe(withAuthority()))

  it.scoped("Cloud Shell: a 500 is retried after 1 s; an HTML 502 page (not retried by the default policy) is a NetworkError", () =>
    Effect.gen(function*() {
      const { env } = yield* served()
      yield* Effect.gen(function*() {
        const { result, sent } = yield* retriedAfter({ status: 500, body: { error: "server_error" } }, 1000)
        expect(result.tokenSource).toBe("identity_provider")
        expect(sent[1]).toMatchObject({ method: "POST", path: "/oauth2/token", form: { resource: ARM } })
        const a = yield* authority
        yield* a.reset
        yield* a.enqueue(...Array.from({ length: 4 }, () => ({ status: 502, body: "<html>bad gateway</html>" })))
        const error = yield* Effect.flip(acquire({ resource: "https://vault.azure.net" }))
        expect(error).toMatchObject({ _tag: "NetworkError", status: 502 })
        expect(yield* requests).toHaveLength(1) // 502 is not in the default policy's list
      }).pipe(Effect.provide(overHttp()), withEnvironment(env.CloudShell))
    }).pipe(withAuthority()))

  it.scoped("Azure Arc: a 500 retried, then the challenge, the key file and the token", () =>
    Effect.gen(function*() {
      const dir = yield* tempDirectory
      const { env } = yield* served()
      yield* (yield* authority).configure({ managedIdentity: { arcKeyDirectory: dir } })
      yield* Effect.gen(function*() {
        const { result, sent } = yield* retriedAfter({ status: 500, body: { error: "server_error" } }, 1000)
        expect(result.tokenSource).toBe("identity_provider")
        expect(sent.map((r) => r.headers.authorization === undefined)).toEqual([true, true, false])
        expect(sent[2]!.url).toContain("api-version=2019-11-01")
      }).pipe(Effect.provide(overHttp()), withEnvironment(env.AzureArc), withArcDirectory(dir))
    }).pipe(withAuthority()))

  it.scoped("Azure Arc: a challenge naming a file outside the agent's directory is refused", () =>
    Effect.gen(function*() {
      const dir = yield* tempDirectory
      const other = yield* tempDirectory
      const { env } = yield* served()
      const a = yield* authority
      yield* a.configure({ managedIdentity: { arcKeyDirectory: other } })
      const error = yield* Effect.flip(
        acquire({ resource: ARM }).pipe(
          Effect.provide(overHttp()),
          withEnvironment(env.AzureArc),
          withArcDirectory(dir)
        )
      )
      expect(error).toMatchObject({
        _tag: "NetworkError",
        description: "Azure Arc's challenge names a key file outside the agent's token directory"
      })
      expect(yield* requests).toHaveLength(1)
    }).pipe(withAuthority()))

  it.scoped("a redirect to another server is not followed: the secret header never reaches it", () =>
    Effect.gen(function*() {
      const target = yield* Effect.gen(function*() {
        const server = yield* TestAuthority.serve()
        return { server, authority: yield* authority }
      }).pipe(withAuthority())
      const { env } = yield* served()
      const a = yield* authority
      yield* a.enqueue({
        status: 307,
        headers: { location: `${target.server.url}/msi/token?api-version=2019-08-01&resource=x` }
      })
      const error = yield* Effect.flip(
        acquire({ resource: ARM }).pipe(Effect.provide(overHttp()), withEnvironment(env.AppService))
      )
      expect(error).toMatchObject({ _tag: "NetworkError", status: 307 })
      expect(error.message).toContain(target.server.url)
      expect(yield* target.authority.requests).toHaveLength(0)
    }).pipe(withAuthority()))

  it.scoped("the token is a JWT about the identity, from the authority's managed-identity issuer", () =>
    Effect.gen(function*() {
      const { env } = yield* served()
      const result = yield* acquire({ resource: "api://AzureADTokenExchange" }).pipe(
        Effect.provide(overHttp()),
        withEnvironment(env.Imds)
      )
      const [, payload] = Redacted.value(result.accessToken).split(".")
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>
      expect(claims).toMatchObject({
        aud: "api://AzureADTokenExchange",
        iss: TestAuthority.managedIdentityIssuer(),
        sub: "5a1c0e7e-0000-4000-8000-0000000000b1"
      })
    }).pipe(withAuthority()))

  it.scoped("the control API configures the managed identities of a served authority (for tests in any language)", () =>
    Effect.gen(function*() {
      const { env, server } = yield* served()
      const configured = yield* Effect.promise(() =>
        fetch(`${server.url}/_testauthority/configure`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            managedIdentity: { userAssigned: [{ clientId: "cid-over-http", objectId: "oid-over-http" }] }
          })
        }).then((r) => r.status)
      )
      expect(configured).toBe(200)
      const result = yield* acquire({ resource: ARM }).pipe(
        Effect.provide(overHttp({ clientId: "cid-over-http" })),
        withEnvironment(env.Imds)
      )
      const [, payload] = Redacted.value(result.accessToken).split(".")
      expect(JSON.parse(Buffer.from(payload!, "base64url").toString())).toMatchObject({
        sub: "oid-over-http",
        appid: "cid-over-http"
      })
    }).pipe(withAuthority()))
})
