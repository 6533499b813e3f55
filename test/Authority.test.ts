import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import { Authority, ClientCredential, ConfidentialClient, CredentialSigner, HttpCache, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Context from "effect-msal/internal/context"
import * as Internal from "effect-msal/internal/authority"
import { CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

const GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"

/** Services a client needs, over an in-process authority; the authority and caches are fresh. */
const services = (settings?: Partial<TestAuthority.Settings>) =>
  Layer.mergeAll(CredentialSigner.layer(ClientCredential.secret(SECRET)), TokenCache.layerMemory()).pipe(
    Layer.provideMerge(TestAuthority.layerHttpClient),
    Layer.provideMerge(TestAuthority.layer(settings))
  )

const clientLayer = (options: Partial<ConfidentialClient.Options>, settings?: Partial<TestAuthority.Settings>) =>
  ConfidentialClient.layer({ clientId: CLIENT_ID, ...options }).pipe(Layer.provideMerge(services(settings)))

const gets = Effect.flatMap(TestAuthority.TestAuthority, (a) => a.requests).pipe(
  Effect.map((rs) => rs.filter((r) => r.method === "GET").map((r) => decodeURIComponent(r.url)))
)
const posts = Effect.flatMap(TestAuthority.TestAuthority, (a) => a.tokenRequests).pipe(
  Effect.map((rs) => rs.map((r) => r.url))
)

/** The endpoints a client resolves for its authority (and optional tenant). */
const endpointsOf = (options: Partial<ConfidentialClient.Options>, tenant?: string) =>
  Effect.scoped(
    Effect.flatMap(Context.make({ clientId: CLIENT_ID, ...options }), (ctx) => ctx.endpointsFor(tenant))
  )

const acquire = (tenant?: string) =>
  Effect.flatMap(
    ConfidentialClient.ConfidentialClient,
    (c) => c.acquireTokenForClient({ scopes: [GRAPH], ...(tenant === undefined ? {} : { tenant }) })
  )

const instanceDiscovery = (authorize: string) =>
  `https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=${authorize}`

interface Row {
  readonly name: string
  readonly options: Partial<ConfidentialClient.Options>
  readonly gets: ReadonlyArray<string>
  readonly token: string
  readonly authorize: string
  readonly realm: string
  readonly environment: string
}

const ROWS: ReadonlyArray<Row> = [
  {
    // Entra answers a domain's discovery with the tenant id's endpoints; MSAL Python keys its
    // cache by the token endpoint's tenant (the GUID)
    name: "Entra tenant domain (discovered: its tenant id's endpoints)",
    options: { authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com" },
    gets: ["https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"],
    token: `https://login.microsoftonline.com/${GUID}/oauth2/v2.0/token`,
    authorize: `https://login.microsoftonline.com/${GUID}/oauth2/v2.0/authorize`,
    realm: GUID,
    environment: "login.microsoftonline.com"
  },
  {
    name: "Entra tenant GUID",
    options: { authority: `https://login.microsoftonline.com/${GUID}` },
    gets: [],
    token: `https://login.microsoftonline.com/${GUID}/oauth2/v2.0/token`,
    authorize: `https://login.microsoftonline.com/${GUID}/oauth2/v2.0/authorize`,
    realm: GUID,
    environment: "login.microsoftonline.com"
  },
  {
    name: "default authority (common)",
    options: {},
    gets: [],
    token: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    authorize: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    realm: "common",
    environment: "login.microsoftonline.com"
  },
  {
    name: "organizations",
    options: { authority: "https://login.microsoftonline.com/organizations/" },
    gets: [],
    token: "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
    authorize: "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
    realm: "organizations",
    environment: "login.microsoftonline.com"
  },
  {
    name: "consumers",
    options: { authority: "https://login.microsoftonline.com/consumers" },
    gets: [],
    token: "https://login.microsoftonline.com/consumers/oauth2/v2.0/token",
    authorize: "https://login.microsoftonline.com/consumers/oauth2/v2.0/authorize",
    realm: "consumers",
    environment: "login.microsoftonline.com"
  },
  {
    name: "extra segments, query and fragment are ignored",
    options: { authority: "https://login.microsoftonline.com/contoso/extra?x=1#f" },
    gets: [],
    token: "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
    authorize: "https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize",
    realm: "contoso",
    environment: "login.microsoftonline.com"
  },
  {
    name: "an alias of the public cloud",
    options: { authority: "https://login.windows.net/contoso" },
    gets: [],
    token: "https://login.windows.net/contoso/oauth2/v2.0/token",
    authorize: "https://login.windows.net/contoso/oauth2/v2.0/authorize",
    realm: "contoso",
    environment: "login.windows.net"
  },
  {
    name: "US Government cloud",
    options: { authority: Authority.build(Authority.AzureUsGovernment, "contoso") },
    gets: [],
    token: "https://login.microsoftonline.us/contoso/oauth2/v2.0/token",
    authorize: "https://login.microsoftonline.us/contoso/oauth2/v2.0/authorize",
    realm: "contoso",
    environment: "login.microsoftonline.us"
  },
  {
    name: "China cloud",
    options: { authority: Authority.build(Authority.AzureChina, "contoso") },
    gets: [],
    token: "https://login.chinacloudapi.cn/contoso/oauth2/v2.0/token",
    authorize: "https://login.chinacloudapi.cn/contoso/oauth2/v2.0/authorize",
    realm: "contoso",
    environment: "login.chinacloudapi.cn"
  },
  {
    name: "a host that is not well known: instance discovery, then OIDC metadata",
    options: { authority: "https://login.contoso-cloud.example/contoso.onmicrosoft.com" },
    gets: [
      instanceDiscovery("https://login.contoso-cloud.example/contoso.onmicrosoft.com/oauth2/v2.0/authorize"),
      "https://login.contoso-cloud.example/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
    ],
    token: `https://login.contoso-cloud.example/${GUID}/oauth2/v2.0/token`,
    authorize: `https://login.contoso-cloud.example/${GUID}/oauth2/v2.0/authorize`,
    realm: GUID,
    environment: "login.contoso-cloud.example"
  },
  {
    name: "validateAuthority: false skips instance discovery",
    options: { authority: "https://login.contoso-cloud.example/contoso.onmicrosoft.com", validateAuthority: false },
    gets: ["https://login.contoso-cloud.example/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"],
    token: `https://login.contoso-cloud.example/${GUID}/oauth2/v2.0/token`,
    authorize: `https://login.contoso-cloud.example/${GUID}/oauth2/v2.0/authorize`,
    realm: GUID,
    environment: "login.contoso-cloud.example"
  },
  {
    name: "instanceDiscovery: false skips instance discovery",
    options: { authority: "https://private.cloud/foo", instanceDiscovery: false },
    gets: ["https://private.cloud/foo/v2.0/.well-known/openid-configuration"],
    token: "https://private.cloud/foo/oauth2/v2.0/token",
    authorize: "https://private.cloud/foo/oauth2/v2.0/authorize",
    realm: "foo",
    environment: "private.cloud"
  },
  {
    name: "B2C policy",
    options: { authority: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi" },
    gets: ["https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi/v2.0/.well-known/openid-configuration"],
    token: `https://contoso.b2clogin.com/${GUID}/B2C_1_susi/oauth2/v2.0/token`,
    authorize: `https://contoso.b2clogin.com/${GUID}/B2C_1_susi/oauth2/v2.0/authorize`,
    realm: GUID,
    environment: "contoso.b2clogin.com"
  },
  {
    name: "B2C /tfp/",
    options: { authority: "https://contoso.b2clogin.com/tfp/contoso.onmicrosoft.com/B2C_1_susi" },
    gets: ["https://contoso.b2clogin.com/tfp/contoso.onmicrosoft.com/B2C_1_susi/v2.0/.well-known/openid-configuration"],
    token: `https://contoso.b2clogin.com/${GUID}/B2C_1_susi/oauth2/v2.0/token`,
    authorize: `https://contoso.b2clogin.com/${GUID}/B2C_1_susi/oauth2/v2.0/authorize`,
    realm: GUID,
    environment: "contoso.b2clogin.com"
  },
  {
    name: "B2C on a custom domain (policy path: no instance discovery)",
    options: { authority: "https://login.contoso.com/contoso.onmicrosoft.com/b2c_1_signin" },
    gets: ["https://login.contoso.com/contoso.onmicrosoft.com/b2c_1_signin/v2.0/.well-known/openid-configuration"],
    token: `https://login.contoso.com/${GUID}/b2c_1_signin/oauth2/v2.0/token`,
    authorize: `https://login.contoso.com/${GUID}/b2c_1_signin/oauth2/v2.0/authorize`,
    realm: GUID,
    environment: "login.contoso.com"
  },
  {
    name: "CIAM without a path",
    options: { authority: "https://contoso.ciamlogin.com" },
    gets: ["https://contoso.ciamlogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"],
    token: `https://contoso.ciamlogin.com/${GUID}/oauth2/v2.0/token`,
    authorize: `https://contoso.ciamlogin.com/${GUID}/oauth2/v2.0/authorize`,
    realm: GUID,
    environment: "contoso.ciamlogin.com"
  },
  {
    name: "CIAM with a path",
    options: { authority: "https://contoso.ciamlogin.com/anything" },
    gets: ["https://contoso.ciamlogin.com/anything/v2.0/.well-known/openid-configuration"],
    token: "https://contoso.ciamlogin.com/anything/oauth2/v2.0/token",
    authorize: "https://contoso.ciamlogin.com/anything/oauth2/v2.0/authorize",
    realm: "anything",
    environment: "contoso.ciamlogin.com"
  },
  {
    name: "AD FS (no /v2.0)",
    options: { authority: "https://fs.contoso.com/adfs" },
    gets: ["https://fs.contoso.com/adfs/.well-known/openid-configuration"],
    token: "https://fs.contoso.com/adfs/oauth2/token/",
    authorize: "https://fs.contoso.com/adfs/oauth2/authorize/",
    realm: "adfs",
    environment: "fs.contoso.com"
  },
  {
    name: "generic OIDC (oidcAuthority)",
    options: { oidcAuthority: "https://contoso.com/tenant" },
    gets: ["https://contoso.com/tenant/.well-known/openid-configuration"],
    token: "https://contoso.com/tenant/token",
    authorize: "https://contoso.com/tenant/authorize",
    realm: "https://contoso.com/tenant",
    environment: "contoso.com"
  }
]

const tenantIds = { "contoso.onmicrosoft.com": GUID }

describe("Authority URL table", () => {
  for (const row of ROWS) {
    it.effect(`${row.name}: endpoints and the requests made`, () =>
      Effect.gen(function*() {
        const endpoints = yield* endpointsOf(row.options)
        expect(endpoints.tokenEndpoint).toBe(row.token)
        expect(endpoints.authorizationEndpoint).toBe(row.authorize)
        expect(endpoints.realm).toBe(row.realm)
        expect(endpoints.environment).toBe(row.environment)
        expect(yield* gets).toEqual(row.gets)
      }).pipe(Effect.provide(services({ tenantIds }))))

    it.effect(`${row.name}: a token from the advertised endpoint, cached under its realm`, () =>
      Effect.gen(function*() {
        const first = yield* acquire()
        const second = yield* acquire()
        expect(first.tokenSource).toBe("identity_provider")
        expect(second.tokenSource).toBe("cache")
        expect(first.tenantId).toBe(row.realm)
        expect(yield* posts).toEqual([row.token])
        expect(yield* gets).toEqual(row.gets)
        const cached = yield* Effect.flatMap(TokenCache.TokenCache, (c) => c.list("AccessToken"))
        expect(cached.map((t) => [t.environment, t.realm])).toEqual([[row.environment, row.realm]])
      }).pipe(Effect.provide(clientLayer(row.options, { tenantIds }))))
  }
})

describe("Authority parsing", () => {
  const ERRORS: ReadonlyArray<readonly [string, Partial<ConfidentialClient.Options>, RegExp]> = [
    ["http", { authority: "http://login.microsoftonline.com/common" }, /must be an https URL/],
    ["http on a non-Microsoft host", { authority: "http://non.https.example.com/tenant" }, /https/],
    ["no tenant", { authority: "https://no.tenant.example.com" }, /no tenant segment/],
    ["no tenant, trailing slash", { authority: "https://no.tenant.example.com/" }, /no tenant segment/],
    ["not a URL", { authority: "login.microsoftonline.com/contoso" }, /not a URL/],
    ["empty", { authority: "" }, /non-empty https URL/],
    [
      "both",
      { authority: "https://login.microsoftonline.com/x", oidcAuthority: "https://contoso.com" },
      /either authority or oidcAuthority/
    ],
    ["tfp without a tenant", { authority: "https://contoso.b2clogin.com/tfp" }, /tenant after \/tfp\//],
    ["credentials in the URL", { authority: "https://user:pw@login.microsoftonline.com/x" }, /credentials/],
    ["OIDC over http off loopback", { oidcAuthority: "http://contoso.com/tenant" }, /plain http only on 127\.0\.0\.1/]
  ]
  for (const [name, options, message] of ERRORS) {
    it.effect(`${name} → AuthorityError listing the accepted forms, when the layer is built`, () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Layer.build(clientLayer(options)))
        expect(Exit.isFailure(exit)).toBe(true)
        const error = yield* Effect.flip(Layer.build(clientLayer(options)))
        expect(error._tag).toBe("AuthorityError")
        expect(error.message).toMatch(message)
        expect(error.message).toContain("Accepted forms")
        expect(yield* gets).toEqual([])
      }).pipe(Effect.scoped, Effect.provide(services())))
  }

  it("canonicalises like MSAL: the tenant is the first segment whatever follows", () => {
    for (
      const url of [
        "https://example.com/tenant/subpath?foo=bar#fragment",
        "https://example.com/tenant?foo=bar#fragment",
        "https://example.com/tenant#fragment",
        "https://EXAMPLE.com:8443/tenant/"
      ]
    ) {
      const parsed = Either.getOrThrow(Authority.parse(url))
      expect([parsed.host, parsed.tenant]).toEqual(["example.com", "tenant"])
    }
  })

  it("classifies every form", () => {
    const forms = [
      ["https://login.microsoftonline.com/common", "Aad"],
      ["https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi", "B2C"],
      ["https://contoso.b2clogin.cn/contoso/B2C_1_x", "B2C"],
      ["https://login.b2clogin.com/contoso/b2c_policy", "B2C"],
      ["https://custom.example/tfp/contoso.onmicrosoft.com/B2C_1_x", "B2C"],
      ["https://contoso.ciamlogin.com", "Ciam"],
      ["https://contoso.ciamlogin.com/adfs", "Ciam"],
      ["https://fs.contoso.com/adfs", "Adfs"],
      ["https://fs.contoso.com/ADFS/", "Adfs"]
    ] as const
    for (const [url, form] of forms) expect([url, Either.getOrThrow(Authority.parse(url)).form]).toEqual([url, form])
    expect(Either.getOrThrow(Authority.parse("https://contoso.com/tenant", { oidc: true })).form).toBe("Oidc")
  })

  it("accepts plain http for an OIDC authority on loopback only", () => {
    for (const url of ["http://127.0.0.1:8080", "http://localhost:1/x", "http://[::1]:9000/"]) {
      expect(Either.isRight(Authority.parse(url, { oidc: true }))).toBe(true)
      expect(Either.isLeft(Authority.parse(url))).toBe(true)
    }
  })

  it("reports the discovery URL of every form (OpenID Connect Discovery 1.0 §4)", () => {
    const table = [
      [
        "https://login.microsoftonline.com/contoso.onmicrosoft.com",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
      ],
      [
        "https://login.microsoftonline.com/t/extra?x=1",
        "https://login.microsoftonline.com/t/extra/v2.0/.well-known/openid-configuration?x=1"
      ],
      [
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi",
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi/v2.0/.well-known/openid-configuration"
      ],
      ["https://fs.contoso.com/adfs", "https://fs.contoso.com/adfs/.well-known/openid-configuration"],
      [
        "https://contoso.ciamlogin.com",
        "https://contoso.ciamlogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
      ],
      [
        "https://contoso.ciamlogin.com/anything",
        "https://contoso.ciamlogin.com/anything/v2.0/.well-known/openid-configuration"
      ]
    ] as const
    for (const [url, discovery] of table) {
      expect(Either.getOrThrow(Authority.parse(url)).openIdConfigurationUrl).toBe(discovery)
    }
    expect(Either.getOrThrow(Authority.parse("https://contoso.com/tenant/", { oidc: true })).openIdConfigurationUrl)
      .toBe("https://contoso.com/tenant/.well-known/openid-configuration")
    expect(Either.getOrThrow(Authority.parse("https://login.microsoftonline.com/common")).endpoints).toEqual({
      token: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
      authorization: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    })
    expect(Either.getOrThrow(Authority.parse("https://fs.contoso.com/adfs")).endpoints).toBeUndefined()
  })

  it("builds authority URLs from a cloud and a tenant (AuthorityBuilder)", () => {
    expect(Authority.build(Authority.AzurePublic, "contoso.onmicrosoft.com"))
      .toBe("https://login.microsoftonline.com/contoso.onmicrosoft.com")
    expect(Authority.build("login.microsoftonline.us/", "/contoso/")).toBe("https://login.microsoftonline.us/contoso")
    expect(Authority.build("https://login.chinacloudapi.cn", "t")).toBe("https://login.chinacloudapi.cn/t")
    expect(Authority.wellKnownHosts.has("login.partner.microsoftonline.cn")).toBe(true)
  })
})

describe("instance discovery", () => {
  it.effect("invalid_instance → AuthorityError that says how to turn the check off", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(acquire())
      expect(error._tag).toBe("AuthorityError")
      expect(error.message).toContain("invalid_instance")
      expect(error.message).toContain("validateAuthority: false")
      expect(error.message).toContain("instanceDiscovery: false")
      expect(yield* posts).toEqual([])
    }).pipe(Effect.provide(clientLayer({ authority: "https://example.com/t" }, { invalidInstances: ["example.com"] }))))

  for (const off of [{ validateAuthority: false }, { instanceDiscovery: false }] as const) {
    it.effect(`${JSON.stringify(off)} → no instance discovery, so no invalid_instance`, () =>
      Effect.gen(function*() {
        const result = yield* acquire()
        expect(result.tokenSource).toBe("identity_provider")
        expect(yield* gets).toEqual(["https://example.com/t/v2.0/.well-known/openid-configuration"])
      }).pipe(
        Effect.provide(
          clientLayer({ authority: "https://example.com/t", ...off }, { invalidInstances: ["example.com"] })
        )
      ))
  }

  it.effect("B2C, CIAM, AD FS and OIDC authorities are never checked", () =>
    Effect.gen(function*() {
      for (
        const options of [
          { authority: "https://login.b2clogin.com/contoso/b2c_policy" },
          { authority: "https://contoso.ciamlogin.com" },
          { authority: "https://contoso.com/adfs" },
          { oidcAuthority: "https://contoso.com/tenant" }
        ]
      ) {
        yield* endpointsOf(options)
      }
      expect((yield* gets).filter((u) => u.includes("/discovery/instance"))).toEqual([])
    }).pipe(
      Effect.provide(services({ invalidInstances: ["login.b2clogin.com", "contoso.ciamlogin.com", "contoso.com"] }))
    ))
})

describe("OIDC metadata resolution", () => {
  it.effect("is lazy: building the client makes no request", () =>
    Effect.gen(function*() {
      yield* ConfidentialClient.ConfidentialClient
      expect(yield* gets).toEqual([])
    }).pipe(Effect.provide(clientLayer({ authority: "https://contoso.ciamlogin.com" }))))

  it.effect("is fetched once per authority under 100 concurrent first calls", () =>
    Effect.gen(function*() {
      const fibers = yield* Effect.forkAll(Array.from({ length: 100 }, () => acquire()))
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.join(fibers)
      expect(results).toHaveLength(100)
      expect(yield* gets).toEqual([
        instanceDiscovery("https://login.contoso-cloud.example/contoso.onmicrosoft.com/oauth2/v2.0/authorize"),
        "https://login.contoso-cloud.example/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
      ])
      expect(yield* posts).toHaveLength(1)
    }).pipe(Effect.provide(clientLayer(
      { authority: "https://login.contoso-cloud.example/contoso.onmicrosoft.com" },
      { latency: "100 millis" }
    ))))

  it.effect("well-known hosts: 100 concurrent first calls and a tenant override make zero GETs", () =>
    Effect.gen(function*() {
      const fibers = yield* Effect.forkAll(
        Array.from({ length: 100 }, (_, i) => acquire(i % 2 === 0 ? undefined : "fabrikam"))
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fibers)
      expect(yield* gets).toEqual([])
      expect(yield* posts).toHaveLength(2)
    }).pipe(
      Effect.provide(clientLayer({ authority: "https://login.microsoftonline.com/contoso" }, { latency: "100 millis" }))
    ))

  it.effect("a failed discovery is not kept: the next call asks again", () =>
    Effect.gen(function*() {
      const authority = yield* TestAuthority.TestAuthority
      const url = "contoso.ciamlogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
      yield* authority.configure({ getResponses: { [url]: { status: 503, body: "busy" } } })
      const error = yield* Effect.flip(acquire())
      expect(error._tag).toBe("NetworkError")
      yield* authority.configure({ getResponses: {} })
      expect((yield* acquire()).tokenSource).toBe("identity_provider")
      expect(yield* gets).toHaveLength(2)
    }).pipe(Effect.provide(clientLayer({ authority: "https://contoso.ciamlogin.com" }))))

  const BAD: ReadonlyArray<readonly [string, TestAuthority.ScriptedResponse, string, RegExp]> = [
    [
      "404 (no such tenant)",
      { status: 404, body: { error: "invalid_tenant" } },
      "AuthorityError",
      /HTTP 404.*tenant name or id/
    ],
    ["an HTML page", { status: 200, body: "<html>hi</html>" }, "AuthorityError", /not JSON with token_endpoint/],
    [
      "no token_endpoint",
      { status: 200, body: { authorization_endpoint: "https://contoso.ciamlogin.com/a" } },
      "AuthorityError",
      /token_endpoint/
    ],
    [
      "an http token endpoint",
      {
        status: 200,
        body: {
          token_endpoint: "http://contoso.ciamlogin.com/t/token",
          authorization_endpoint: "https://contoso.ciamlogin.com/t/a"
        }
      },
      "AuthorityError",
      /not an https URL/
    ],
    [
      "a token endpoint in another cloud",
      {
        status: 200,
        body: {
          token_endpoint: "https://login.microsoftonline.us/t/token",
          authorization_endpoint: "https://contoso.ciamlogin.com/t/a"
        }
      },
      "AuthorityError",
      /Microsoft cloud/
    ],
    ["500", { status: 500, body: "" }, "NetworkError", /Status \(HTTP 500\)/]
  ]
  for (const [name, response, tag, message] of BAD) {
    it.effect(`a discovery document that is ${name} → ${tag}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(acquire())
        expect(error._tag).toBe(tag)
        expect(error.message).toMatch(message)
        expect(yield* posts).toEqual([])
      }).pipe(Effect.provide(clientLayer(
        { authority: "https://contoso.ciamlogin.com" },
        { getResponses: { "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration": response } }
      ))))
  }

  it.effect("an OIDC issuer that does not match → AuthorityError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(acquire())
      expect(error._tag).toBe("AuthorityError")
      expect(error.message).toContain("issuer 'https://evil.example/tenant'")
    }).pipe(
      Effect.provide(
        clientLayer({ oidcAuthority: "https://contoso.com/tenant" }, { issuer: "https://evil.example/tenant" })
      )
    ))
})

describe("issuer validation (newest MSAL rules)", () => {
  const cases: ReadonlyArray<readonly [string | undefined, string, boolean]> = [
    ["https://contoso.com/tenant", "https://contoso.com/tenant", true],
    ["https://contoso.com/tenant/", "https://contoso.com/tenant", true],
    ["https://contoso.com/other-path", "https://contoso.com/tenant", true],
    ["http://contoso.com/tenant", "https://contoso.com/tenant", false],
    ["https://evil.com/tenant", "https://contoso.com/tenant", false],
    [undefined, "https://contoso.com/tenant", false],
    ["", "https://contoso.com/tenant", false],
    ["not a url", "https://contoso.com/tenant", false],
    // CIAM: the issuer's tenant must be the authority's
    ["https://tenant.ciamlogin.com/tenant/v2.0", "https://custom.example/tenant", true],
    ["https://tenant.ciamlogin.com", "https://tenant.example.com", true],
    ["https://other.ciamlogin.com/other/v2.0", "https://custom.example/tenant", false],
    ["https://tenant.ciamlogin.com/elsewhere", "https://custom.example/tenant", false],
    // known Microsoft hosts: any cloud under a custom domain, the same cloud otherwise
    ["https://login.microsoftonline.com/guid/v2.0", "https://custom.example/tenant", true],
    ["https://westus2.login.microsoft.com/guid/v2.0", "https://custom.example/tenant", true],
    ["https://login.microsoftonline.us/guid/v2.0", "https://login.microsoftonline.com/tenant", false],
    ["https://login.windows.net/guid/", "https://login.microsoftonline.com/tenant", true],
    ["http://login.microsoftonline.com/guid/v2.0", "https://custom.example/tenant", false],
    // a region-shaped prefix on the authority host
    ["https://us.someweb.com/x", "https://someweb.com/tenant", true],
    ["https://a.b.someweb.com/x", "https://someweb.com/tenant", false],
    // B2C hosts
    ["https://fabrikam.b2clogin.com/guid/v2.0/", "https://custom.example/tenant", true],
    ["https://b2clogin.com.evil.example/x", "https://custom.example/tenant", false]
  ]
  for (const [issuer, authority, valid] of cases) {
    it(`${issuer ?? "(none)"} for ${authority}: ${valid ? "accepted" : "rejected"}`, () => {
      expect(Internal.isValidIssuer(issuer, authority)).toBe(valid)
    })
  }
})

/** An access token of CLIENT_ID put in the client's cache, valid for an hour from the TestClock's now. */
const cachedAccessToken = (token: {
  readonly realm: string
  readonly secret: string
  readonly target: string
  readonly homeAccountId?: string
}) =>
  Effect.flatMap(TestClock.currentTimeMillis, (millis) => {
    const now = Math.floor(millis / 1000)
    return Effect.flatMap(TokenCache.TokenCache, (c) =>
      c.modify([{
        _tag: "Put",
        section: "AccessToken",
        entry: {
          credential_type: "AccessToken",
          secret: Redacted.make(token.secret),
          home_account_id: token.homeAccountId ?? "",
          environment: "login.microsoftonline.com",
          client_id: CLIENT_ID,
          realm: token.realm,
          target: token.target,
          token_type: "Bearer",
          cached_at: now,
          expires_on: now + 3600,
          extended_expires_on: now + 3600
        }
      }]))
  })

describe("a domain-named tenant's realm", () => {
  const DOMAIN = "https://login.microsoftonline.com/contoso.onmicrosoft.com"
  /** An app token for GRAPH under a realm, valid for an hour from now. */
  const appToken = (realm: string, secret: string) => cachedAccessToken({ realm, secret, target: GRAPH })

  it.effect("a token cached under the domain (msal-node, earlier versions) is served with no token request", () =>
    Effect.gen(function*() {
      yield* appToken("contoso.onmicrosoft.com", "under the domain")
      const result = yield* acquire()
      expect(result.tokenSource).toBe("cache")
      expect(Redacted.value(result.accessToken)).toBe("under the domain")
      expect(yield* posts).toEqual([])
      // the discovery that names the tenant id is the only request
      expect(yield* gets).toEqual([
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
      ])
    }).pipe(Effect.provide(clientLayer({ authority: DOMAIN }, { tenantIds }))))

  it.effect("a token cached under the tenant id (MSAL Python on Entra) is served first", () =>
    Effect.gen(function*() {
      yield* appToken("contoso.onmicrosoft.com", "under the domain")
      yield* appToken(GUID, "under the tenant id")
      const result = yield* acquire()
      expect(Redacted.value(result.accessToken)).toBe("under the tenant id")
      expect(yield* posts).toEqual([])
    }).pipe(Effect.provide(clientLayer({ authority: DOMAIN }, { tenantIds }))))

  it.effect("a new token is written under the tenant id, and another tenant's token is never served", () =>
    Effect.gen(function*() {
      yield* appToken("fabrikam.onmicrosoft.com", "another tenant")
      const result = yield* acquire()
      expect(result.tokenSource).toBe("identity_provider")
      expect(yield* posts).toEqual([`https://login.microsoftonline.com/${GUID}/oauth2/v2.0/token`])
      const cached = yield* Effect.flatMap(TokenCache.TokenCache, (c) => c.list("AccessToken"))
      expect(cached.map((t) => t.realm).sort()).toEqual([GUID, "fabrikam.onmicrosoft.com"])
    }).pipe(Effect.provide(clientLayer({ authority: DOMAIN }, { tenantIds }))))
})

describe("user tokens under the account's tid (where msal-node writes them)", () => {
  const OTHER = "0fab0fab-1111-4222-8333-444455556666"
  const account = {
    homeAccountId: `uid.${OTHER}`,
    environment: "login.microsoftonline.com",
    tenantId: OTHER,
    username: "u@fabrikam.example",
    localAccountId: "uid"
  }
  const userToken = cachedAccessToken({
    realm: OTHER,
    secret: "under the tid",
    target: "User.Read openid profile",
    homeAccountId: account.homeAccountId
  })
  const silent = Effect.flatMap(
    ConfidentialClient.ConfidentialClient,
    (c) => c.acquireTokenSilent({ account, scopes: ["User.Read"] })
  )

  it.effect("are served for a tenantless authority (organizations)", () =>
    Effect.gen(function*() {
      yield* userToken
      const result = yield* silent
      expect(Redacted.value(result.accessToken)).toBe("under the tid")
      expect(yield* posts).toEqual([])
    }).pipe(Effect.provide(clientLayer({ authority: "https://login.microsoftonline.com/organizations" }))))

  it.effect("are never served for an authority that names another tenant", () =>
    Effect.gen(function*() {
      yield* userToken
      const error = yield* Effect.flip(silent)
      expect(error._tag).toBe("TokenNotFound")
      expect(yield* posts).toEqual([])
    }).pipe(Effect.provide(clientLayer({ authority: `https://login.microsoftonline.com/${GUID}` }))))
})

describe("tenant override", () => {
  // a domain-named tenant is discovered: Entra answers with its tenant id's endpoints
  const FABRIKAM = "0fab0fab-1111-4222-8333-444455556666"
  const OVERRIDES: ReadonlyArray<readonly [string, Partial<ConfidentialClient.Options>, string]> = [
    [
      "Entra tenant",
      { authority: "https://login.microsoftonline.com/contoso" },
      `https://login.microsoftonline.com/${FABRIKAM}/oauth2/v2.0/token`
    ],
    [
      "organizations",
      { authority: "https://login.microsoftonline.com/organizations" },
      `https://login.microsoftonline.com/${FABRIKAM}/oauth2/v2.0/token`
    ],
    [
      "US Government",
      { authority: "https://login.microsoftonline.us/contoso" },
      `https://login.microsoftonline.us/${FABRIKAM}/oauth2/v2.0/token`
    ],
    [
      "discovered host",
      { authority: "https://login.contoso-cloud.example/contoso" },
      `https://login.contoso-cloud.example/${FABRIKAM}/oauth2/v2.0/token`
    ],
    [
      "B2C",
      { authority: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi" },
      `https://contoso.b2clogin.com/${FABRIKAM}/B2C_1_susi/oauth2/v2.0/token`
    ],
    [
      "B2C /tfp/",
      { authority: "https://contoso.b2clogin.com/tfp/contoso.onmicrosoft.com/B2C_1_susi" },
      `https://contoso.b2clogin.com/${FABRIKAM}/B2C_1_susi/oauth2/v2.0/token`
    ],
    [
      "CIAM without a path",
      { authority: "https://contoso.ciamlogin.com" },
      `https://contoso.ciamlogin.com/${FABRIKAM}/oauth2/v2.0/token`
    ],
    [
      "CIAM with a path",
      { authority: "https://contoso.ciamlogin.com/contoso.onmicrosoft.com" },
      `https://contoso.ciamlogin.com/${FABRIKAM}/oauth2/v2.0/token`
    ]
  ]
  for (const [name, options, token] of OVERRIDES) {
    it.effect(`${name}: the token comes from the other tenant and is cached under its tenant id`, () =>
      Effect.gen(function*() {
        const home = yield* acquire()
        const other = yield* acquire("fabrikam.onmicrosoft.com")
        const again = yield* acquire("fabrikam.onmicrosoft.com")
        expect(other.tenantId).toBe(FABRIKAM)
        expect(home.tenantId).not.toBe(FABRIKAM)
        expect(again.tokenSource).toBe("cache")
        expect((yield* posts)[1]).toBe(token)
        expect(yield* posts).toHaveLength(2)
      }).pipe(Effect.provide(clientLayer(options, { tenantIds: { "fabrikam.onmicrosoft.com": FABRIKAM } }))))
  }

  for (
    const options of [{ authority: "https://fs.contoso.com/adfs" }, { oidcAuthority: "https://contoso.com/tenant" }]
  ) {
    it.effect(`${JSON.stringify(options)}: no tenants → InvalidRequest`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(acquire("fabrikam"))
        expect(error._tag).toBe("InvalidRequest")
        expect(yield* gets).toEqual([])
      }).pipe(Effect.provide(clientLayer(options))))
  }
})

describe("host aliases are one cache environment", () => {
  /** Two clients on different hosts over one token cache and one authority. */
  const twoClients = (a: Partial<ConfidentialClient.Options>, b: Partial<ConfidentialClient.Options>) =>
    Effect.gen(function*() {
      const shared = yield* Layer.build(services())
      const first = yield* Layer.build(ConfidentialClient.layer({ clientId: CLIENT_ID, ...a })).pipe(
        Effect.provide(shared)
      )
      const second = yield* Layer.build(ConfidentialClient.layer({ clientId: CLIENT_ID, ...b })).pipe(
        Effect.provide(shared)
      )
      const one = yield* Effect.flatMap(
        ConfidentialClient.ConfidentialClient,
        (c) => c.acquireTokenForClient({ scopes: [GRAPH] })
      )
        .pipe(Effect.provide(first))
      const two = yield* Effect.flatMap(
        ConfidentialClient.ConfidentialClient,
        (c) => c.acquireTokenForClient({ scopes: [GRAPH] })
      )
        .pipe(Effect.provide(second))
      const postsMade = yield* posts.pipe(Effect.provide(shared))
      const getsMade = yield* gets.pipe(Effect.provide(shared))
      return { one, two, postsMade, getsMade }
    })

  for (
    const [a, b] of [
      ["https://login.windows.net/contoso", "https://login.microsoftonline.com/contoso"],
      ["https://sts.windows.net/contoso", "https://login.microsoft.com/contoso"],
      ["https://login.partner.microsoftonline.cn/contoso", "https://login.chinacloudapi.cn/contoso"],
      ["https://login.usgovcloudapi.net/contoso", "https://login.microsoftonline.us/contoso"]
    ] as const
  ) {
    it.scoped(`a token cached through ${new URL(a).host} is found through ${new URL(b).host}`, () =>
      Effect.gen(function*() {
        const { getsMade, one, postsMade, two } = yield* twoClients({ authority: a }, { authority: b })
        expect(one.tokenSource).toBe("identity_provider")
        expect(two.tokenSource).toBe("cache")
        expect(Redacted.value(two.accessToken)).toBe(Redacted.value(one.accessToken))
        expect(postsMade).toHaveLength(1)
        expect(getsMade).toEqual([])
      }))
  }

  it.scoped("hosts that instance discovery puts in one alias group share tokens", () =>
    Effect.gen(function*() {
      const shared = yield* Layer.build(services({
        aliasGroups: [{
          preferredNetwork: "login.contoso-cloud.example",
          preferredCache: "cache.contoso-cloud.example",
          aliases: ["login.contoso-cloud.example", "sts.contoso-cloud.example", "cache.contoso-cloud.example"]
        }]
      }))
      const run = (authority: string) =>
        Layer.build(ConfidentialClient.layer({ clientId: CLIENT_ID, authority })).pipe(
          Effect.flatMap((ctx) =>
            Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) => c.acquireTokenForClient({ scopes: [GRAPH] }))
              .pipe(Effect.provide(ctx))
          ),
          Effect.provide(shared)
        )
      const one = yield* run("https://login.contoso-cloud.example/contoso")
      const two = yield* run("https://sts.contoso-cloud.example/contoso")
      expect(one.tokenSource).toBe("identity_provider")
      expect(two.tokenSource).toBe("cache")
      const cached = yield* Effect.flatMap(TokenCache.TokenCache, (c) => c.list("AccessToken")).pipe(
        Effect.provide(shared)
      )
      expect(cached.map((t) => t.environment)).toEqual(["cache.contoso-cloud.example"])
    }))

  it.scoped("a discovered well-known alias joins the well-known environment", () =>
    Effect.gen(function*() {
      const endpoints = yield* endpointsOf({ authority: "https://login.partner-edge.example/contoso" }).pipe(
        Effect.provide(services({
          aliasGroups: [{
            preferredNetwork: "login.partner-edge.example",
            preferredCache: "login.partner-edge.example",
            aliases: ["login.partner-edge.example", "login.chinacloudapi.cn"]
          }]
        }))
      )
      expect(endpoints.environment).toBe("login.chinacloudapi.cn")
    }))

  it.scoped("removeTokensForClient removes tokens cached under a discovered environment", () =>
    Effect.gen(function*() {
      const layer = clientLayer({ authority: "https://sts.contoso-cloud.example/contoso" }, {
        aliasGroups: [{
          preferredNetwork: "login.contoso-cloud.example",
          preferredCache: "login.contoso-cloud.example",
          aliases: ["login.contoso-cloud.example", "sts.contoso-cloud.example"]
        }]
      })
      const ctx = yield* Layer.build(layer)
      yield* acquire().pipe(Effect.provide(ctx))
      const list = Effect.flatMap(TokenCache.TokenCache, (c) => c.list("AccessToken")).pipe(Effect.provide(ctx))
      expect((yield* list).map((t) => t.environment)).toEqual(["login.contoso-cloud.example"])
      yield* Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) => c.removeTokensForClient()).pipe(
        Effect.provide(ctx)
      )
      expect(yield* list).toEqual([])
    }))
})

describe("HttpCache sharing", () => {
  it.scoped("clients sharing an HttpCache discover once; without one, each client discovers", () =>
    Effect.gen(function*() {
      const authority = "https://contoso.ciamlogin.com"
      const shared = yield* Layer.build(Layer.merge(services(), HttpCache.layerMemory()))
      for (let i = 0; i < 3; i++) {
        const ctx = yield* Layer.build(ConfidentialClient.layer({ clientId: CLIENT_ID, authority })).pipe(
          Effect.provide(shared)
        )
        yield* acquire().pipe(Effect.provide(ctx))
      }
      expect(yield* gets.pipe(Effect.provide(shared))).toHaveLength(1)
      const isolated = yield* Layer.build(services())
      for (let i = 0; i < 2; i++) {
        const ctx = yield* Layer.build(ConfidentialClient.layer({ clientId: CLIENT_ID, authority })).pipe(
          Effect.provide(isolated)
        )
        yield* acquire().pipe(Effect.provide(ctx))
      }
      expect(yield* gets.pipe(Effect.provide(isolated))).toHaveLength(2)
      expect(Option.isSome(yield* Effect.serviceOption(HttpCache.HttpCache).pipe(Effect.provide(shared)))).toBe(true)
    }))
})
