/**
 * Generic OpenID Connect through a real provider that no one here wrote: `oidc-provider`
 * (panva), served over HTTP on 127.0.0.1. The client reaches it with
 * `oidcAuthority: "http://127.0.0.1:<port>"`: plain http is accepted for OIDC authorities on
 * loopback hosts only, a documented development and test exception.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted } from "effect"
import { generateKeyPairSync } from "node:crypto"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import type { ClientMetadata } from "oidc-provider"
import Provider from "oidc-provider"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"

const SECRET = "oidc-provider-client-secret-0123456789abcdef"
const API = "https://api.example.com"
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })
const PRIVATE_PEM = privateKey.export({ type: "pkcs8", format: "pem" }).toString()

/** The client allowed the client-credentials grant with a secret (client_secret_post). */
const secretApp: ClientMetadata = {
  client_id: "secret-app",
  client_secret: SECRET,
  grant_types: ["client_credentials"],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: "client_secret_post"
}

/**
 * An oidc-provider issuing JWT access tokens for `API` with `scope` to the client-credentials
 * grant of `clients`.
 */
const providerAt = (issuer: string, clients: ReadonlyArray<ClientMetadata>, scope: string) =>
  new Provider(issuer, {
    clients: [...clients],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        getResourceServerInfo: () => ({ scope, audience: API, accessTokenFormat: "jwt" }),
        useGrantedResource: () => true
      }
    },
    ttl: { ClientCredentials: 3600 }
  })

/**
 * An HTTP server on 127.0.0.1 for the test's scope: `route` (given the server's origin) answers
 * every request; `seen` records them as `METHOD /path`.
 */
const listen = (route: (origin: string) => (req: IncomingMessage, res: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly origin: string; readonly seen: Array<string>; readonly server: Server }>((resume) => {
      const seen: Array<string> = []
      const server = createServer()
      server.listen(0, "127.0.0.1", () => {
        const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        const handle = route(origin)
        server.on("request", (req, res) => {
          seen.push(`${req.method} ${req.url}`)
          handle(req, res)
        })
        resume(Effect.succeed({ origin, seen, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/** oidc-provider on 127.0.0.1 with two confidential clients allowed the client-credentials grant. */
const provider = Effect.map(
  listen((issuer) =>
    providerAt(issuer, [secretApp, {
      client_id: "jwt-app",
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "private_key_jwt",
      jwks: { keys: [{ ...publicKey.export({ format: "jwk" }), use: "sig", alg: "RS256" }] }
    }], "api:read api:write").callback()
  ),
  ({ origin, seen }) => ({ issuer: origin, seen })
)

const clientLayer = (
  options: Partial<ConfidentialClient.Options> & { readonly oidcAuthority: string },
  credential: ClientCredential.ClientCredential
) =>
  ConfidentialClient.layer({ clientId: "secret-app", ...options }).pipe(
    Layer.provide(CredentialSigner.layer(credential)),
    Layer.provideMerge(TokenCache.layerMemory()),
    Layer.provide(FetchHttpClient.layer)
  )

const claimsOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>

const acquire = Effect.flatMap(
  ConfidentialClient.ConfidentialClient,
  (c) => c.acquireTokenForClient({ scopes: ["api:read"] })
)

describe("oidc-provider over real HTTP", () => {
  it.live("a client secret gets an access token, then the cache serves it", () =>
    Effect.gen(function*() {
      const { issuer, seen } = yield* provider
      const [first, second] = yield* Effect.all([acquire, acquire]).pipe(
        Effect.provide(clientLayer({ oidcAuthority: issuer }, ClientCredential.secret(SECRET)))
      )
      expect(first.tokenSource).toBe("identity_provider")
      expect(second.tokenSource).toBe("cache")
      expect(first.scopes).toEqual(["api:read"])
      const claims = claimsOf(Redacted.value(first.accessToken))
      expect(claims).toMatchObject({ iss: issuer, aud: API, client_id: "secret-app", scope: "api:read" })
      expect(seen).toEqual(["GET /.well-known/openid-configuration", "POST /token"])
    }).pipe(Effect.scoped))

  it.live("100 concurrent first calls: one discovery request and one token request", () =>
    Effect.gen(function*() {
      const { issuer, seen } = yield* provider
      const results = yield* Effect.gen(function*() {
        const fibers = yield* Effect.forkAll(Array.from({ length: 100 }, () => acquire))
        return yield* Fiber.join(fibers)
      }).pipe(Effect.provide(clientLayer({ oidcAuthority: issuer }, ClientCredential.secret(SECRET))))
      expect(new Set(results.map((r) => Redacted.value(r.accessToken))).size).toBe(1)
      expect(seen).toEqual(["GET /.well-known/openid-configuration", "POST /token"])
    }).pipe(Effect.scoped))

  it.live("a wrong secret is the provider's invalid_client", () =>
    Effect.gen(function*() {
      const { issuer } = yield* provider
      const error = yield* Effect.flip(acquire).pipe(
        Effect.provide(clientLayer({ oidcAuthority: issuer }, ClientCredential.secret("not-the-secret")))
      )
      expect(error._tag).toBe("ServerError")
      expect(error._tag === "ServerError" ? error.error : "").toBe("invalid_client")
    }).pipe(Effect.scoped))

  it.live("an issuer that does not match the authority is refused before any token request", () =>
    Effect.gen(function*() {
      const { issuer, seen } = yield* provider
      const other = issuer.replace("127.0.0.1", "localhost")
      const error = yield* Effect.flip(acquire).pipe(
        Effect.provide(clientLayer({ oidcAuthority: other }, ClientCredential.secret(SECRET)))
      )
      expect(error._tag).toBe("AuthorityError")
      expect(error.message).toContain(`the issuer '${issuer}'`)
      expect(seen).toEqual(["GET /.well-known/openid-configuration"])
    }).pipe(Effect.scoped))

  it.live("a signed assertion (private_key_jwt) gets an access token", () =>
    Effect.gen(function*() {
      const { issuer, seen } = yield* provider
      const result = yield* acquire.pipe(
        Effect.provide(clientLayer(
          { oidcAuthority: issuer, clientId: "jwt-app" },
          ClientCredential.certificate({ privateKey: PRIVATE_PEM, thumbprint: "AB".repeat(20) })
        ))
      )
      expect(claimsOf(Redacted.value(result.accessToken))).toMatchObject({
        iss: issuer,
        aud: API,
        client_id: "jwt-app"
      })
      expect(seen).toEqual(["GET /.well-known/openid-configuration", "POST /token"])
    }).pipe(Effect.scoped))
})

/**
 * Two issuers on one host, as Keycloak realms (`/realms/a`, `/realms/b`): each an
 * oidc-provider mounted under its path, with the same client id and secret.
 */
const twoRealms = Effect.map(
  listen((origin) => {
    const mounted = ["/realms/a", "/realms/b"].map((path) => ({
      path,
      callback: providerAt(`${origin}${path}`, [secretApp], "api:read").callback()
    }))
    return (req, res) => {
      const target = mounted.find((m) => req.url?.startsWith(`${m.path}/`))
      if (target === undefined) {
        res.writeHead(404)
        res.end()
        return
      }
      // mounted as express does: oidc-provider reads the mount path from originalUrl
      Object.assign(req, { originalUrl: req.url })
      req.url = req.url!.slice(target.path.length)
      target.callback(req, res)
    }
  }),
  ({ origin, seen }) => ({ a: `${origin}/realms/a`, b: `${origin}/realms/b`, seen })
)

describe("two issuers on one host share no cache entries", () => {
  it.live("/realms/a and /realms/b each get their own token, and each is cached under its issuer", () =>
    Effect.gen(function*() {
      const { a, b, seen } = yield* twoRealms
      const cache = yield* TokenCache.makeMemory()
      const layerFor = (issuer: string) =>
        ConfidentialClient.layer({ clientId: "secret-app", oidcAuthority: issuer }).pipe(
          Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
          Layer.provide(Layer.succeed(TokenCache.TokenCache, cache)),
          Layer.provide(FetchHttpClient.layer)
        )
      const fromA = yield* acquire.pipe(Effect.provide(layerFor(a)))
      const fromB = yield* acquire.pipe(Effect.provide(layerFor(b)))
      const againA = yield* acquire.pipe(Effect.provide(layerFor(a)))
      const againB = yield* acquire.pipe(Effect.provide(layerFor(b)))
      expect([fromA.tokenSource, fromB.tokenSource, againA.tokenSource, againB.tokenSource]).toEqual([
        "identity_provider",
        "identity_provider",
        "cache",
        "cache"
      ])
      expect(claimsOf(Redacted.value(fromA.accessToken)).iss).toBe(a)
      expect(claimsOf(Redacted.value(fromB.accessToken)).iss).toBe(b)
      expect(Redacted.value(againA.accessToken)).toBe(Redacted.value(fromA.accessToken))
      expect(Redacted.value(againB.accessToken)).toBe(Redacted.value(fromB.accessToken))
      expect(seen.filter((r) => r.startsWith("POST"))).toEqual(["POST /realms/a/token", "POST /realms/b/token"])
      const realms = (yield* cache.list("AccessToken")).map((t) => t.realm).sort()
      expect(realms).toEqual([a, b])
    }).pipe(Effect.scoped))
})
