import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Layer, Logger, Redacted, TestClock } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, HttpCache, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Region from "effect-msal/internal/region"
import { CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

// by tenant id: the endpoints are known without discovery (a domain would add one GET first)
const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
const AUTHORITY = `https://login.microsoftonline.com/${TENANT_ID}`
const GLOBAL = `${AUTHORITY}/oauth2/v2.0/token`
const regional = (region: string) => `https://${region}.login.microsoft.com/${TENANT_ID}/oauth2/v2.0/token`
const IMDS = "http://169.254.169.254/metadata/instance/compute?api-version=2021-02-01"

const services = (settings?: Partial<TestAuthority.Settings>) =>
  Layer.mergeAll(CredentialSigner.layer(ClientCredential.secret(SECRET)), TokenCache.layerMemory()).pipe(
    Layer.provideMerge(TestAuthority.layerHttpClient),
    Layer.provideMerge(TestAuthority.layer(settings))
  )
const clientLayer = (options: Partial<ConfidentialClient.Options>, settings?: Partial<TestAuthority.Settings>) =>
  ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, ...options }).pipe(
    Layer.provideMerge(services(settings))
  )

/** Environment variables as `Config` sees them: only these, whatever the machine has. */
const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const acquire = (scopes: ReadonlyArray<string> = [GRAPH]) =>
  Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) => c.acquireTokenForClient({ scopes }))

const requested = Effect.flatMap(TestAuthority.TestAuthority, (a) => a.requests).pipe(
  Effect.map((rs) => rs.map((r) => `${r.method} ${r.url}`))
)

const logged = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      lines.push(`${logLevel.label} ${
        (Array.isArray(message) ? message : [message]).map((m) => typeof m === "string" ? m : JSON.stringify(m)).join(
          " "
        )
      }`)
    })
  )

describe("region names (MSAL Python PR #921)", () => {
  it("accepts valid names", () => {
    for (const name of ["eastus", "westus2", "centralindia", "northeurope", "east-us", "west-us-2", "a".repeat(63)]) {
      expect([name, Region.isValidName(name)]).toEqual([name, true])
    }
  })
  it("rejects everything else", () => {
    for (
      const name of [
        "east.us",
        "east/us",
        "east:us",
        "EastUS",
        "East Us 2",
        "-eastus",
        "1eastus",
        "eastus-",
        "a".repeat(64),
        " eastus",
        "eastus ",
        "westus2.login.microsoft.com",
        "https://westus2",
        "wéstus",
        "",
        undefined,
        null,
        5
      ]
    ) {
      expect([name, Region.isValidName(name)]).toEqual([name, false])
    }
  })
  it("forms regional hosts (MSAL Python's region.py)", () => {
    expect(Region.regionalHost("login.microsoftonline.com", "westus")).toBe("westus.login.microsoft.com")
    expect(Region.regionalHost("login.windows.net", "westus")).toBe("westus.login.microsoft.com")
    expect(Region.regionalHost("sts.windows.net", "westus")).toBe("westus.login.microsoft.com")
    expect(Region.regionalHost("login.microsoft.com", "westus")).toBe("westus.login.microsoft.com")
    expect(Region.regionalHost("login.microsoftonline.us", "usgovvirginia")).toBe(
      "usgovvirginia.login.microsoftonline.us"
    )
    expect(Region.regionalHost("login.chinacloudapi.cn", "chinaeast2")).toBe("chinaeast2.login.chinacloudapi.cn")
  })
})

interface Case {
  readonly name: string
  readonly azureRegion?: string | false
  readonly env?: Record<string, string>
  readonly settings?: Partial<TestAuthority.Settings>
  readonly requests: ReadonlyArray<string>
}

const MATRIX: ReadonlyArray<Case> = [
  {
    name: "explicit region: used as given, IMDS never asked",
    azureRegion: "westus",
    settings: { imdsLocation: "eastus" },
    requests: [`POST ${regional("westus")}`]
  },
  {
    name: "discover with REGION_NAME: no IMDS",
    azureRegion: "discover",
    env: { REGION_NAME: "eastus2" },
    settings: { imdsLocation: "westus" },
    requests: [`POST ${regional("eastus2")}`]
  },
  {
    name: "discover with an invalid REGION_NAME: the global endpoint",
    azureRegion: "discover",
    env: { REGION_NAME: "East Us 2" },
    settings: { imdsLocation: "westus" },
    requests: [`POST ${GLOBAL}`]
  },
  {
    name: "discover through IMDS",
    azureRegion: "discover",
    settings: { imdsLocation: "westus2" },
    requests: [`GET ${IMDS}`, `POST ${regional("westus2")}`]
  },
  {
    name: "discover, IMDS unreachable: the global endpoint",
    azureRegion: "discover",
    requests: [`GET ${IMDS}`, `POST ${GLOBAL}`]
  },
  ...([
    ["not JSON", "<html>"],
    ["an empty object", {}],
    ["null", "null"],
    ["a number as location", { location: 5 }],
    ["an invalid location", { location: "West US" }],
    ["an error status", { status: 500 }]
  ] as const).map(([what, body]): Case => ({
    name: `discover, IMDS answers ${what}: the global endpoint`,
    azureRegion: "discover",
    settings: {
      getResponses: {
        "/metadata/instance/compute": typeof body === "object" && "status" in body
          ? { status: body.status, body: "oops" }
          : { status: 200, body }
      }
    },
    requests: [`GET ${IMDS}`, `POST ${GLOBAL}`]
  })),
  {
    name: "absent, MSAL_FORCE_REGION set",
    env: { MSAL_FORCE_REGION: "eastus" },
    settings: { imdsLocation: "westus" },
    requests: [`POST ${regional("eastus")}`]
  },
  {
    name: "absent, MSAL_FORCE_REGION empty",
    env: { MSAL_FORCE_REGION: "" },
    requests: [`POST ${GLOBAL}`]
  },
  {
    name: "absent, no environment: the global endpoint, no IMDS",
    settings: { imdsLocation: "westus" },
    requests: [`POST ${GLOBAL}`]
  },
  {
    name: "false: MSAL_FORCE_REGION is ignored",
    azureRegion: false,
    env: { MSAL_FORCE_REGION: "eastus" },
    requests: [`POST ${GLOBAL}`]
  },
  {
    name: "an invalid explicit region is ignored",
    azureRegion: "West US",
    settings: { imdsLocation: "westus" },
    requests: [`POST ${GLOBAL}`]
  }
]

describe("region matrix", () => {
  for (const c of MATRIX) {
    it.effect(`${c.name}: exact requests, token cached under the central environment`, () =>
      Effect.gen(function*() {
        const first = yield* acquire()
        const second = yield* acquire()
        expect(first.tokenSource).toBe("identity_provider")
        expect(second.tokenSource).toBe("cache")
        expect(yield* requested).toEqual(c.requests)
        const cached = yield* Effect.flatMap(TokenCache.TokenCache, (t) => t.list("AccessToken"))
        expect(cached.map((t) => [t.environment, t.realm])).toEqual([[
          "login.microsoftonline.com",
          TENANT_ID
        ]])
      }).pipe(
        withEnv(c.env ?? {}),
        Effect.provide(clientLayer(c.azureRegion === undefined ? {} : { azureRegion: c.azureRegion }, c.settings))
      ))
  }
})

describe("region discovery", () => {
  it.effect("IMDS is asked once per client, with Metadata: true", () =>
    Effect.gen(function*() {
      yield* acquire([GRAPH])
      yield* acquire(["https://vault.azure.net/.default"])
      yield* acquire(["https://storage.azure.com/.default"])
      const requests = yield* Effect.flatMap(TestAuthority.TestAuthority, (a) => a.requests)
      const imds = requests.filter((r) => r.method === "GET")
      expect(imds.map((r) => r.url)).toEqual([IMDS])
      expect(imds[0]!.headers.metadata).toBe("true")
      expect(requests.filter((r) => r.method === "POST").map((r) => r.url)).toEqual([
        regional("westus2"),
        regional("westus2"),
        regional("westus2")
      ])
    }).pipe(withEnv({}), Effect.provide(clientLayer({ azureRegion: "discover" }, { imdsLocation: "westus2" }))))

  it.effect("a cache hit never probes IMDS", () =>
    Effect.gen(function*() {
      const shared = yield* Layer.build(services({ imdsLocation: "westus2" }))
      const build = (azureRegion: string | false) =>
        Layer.build(ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, azureRegion })).pipe(
          Effect.provide(shared)
        )
      yield* acquire().pipe(Effect.provide(yield* build(false)))
      const hit = yield* acquire().pipe(Effect.provide(yield* build("discover")))
      expect(hit.tokenSource).toBe("cache")
      expect(yield* requested.pipe(Effect.provide(shared))).toEqual([`POST ${GLOBAL}`])
    }).pipe(withEnv({}), Effect.scoped))

  it.effect("IMDS that does not answer within 2 seconds: the global endpoint", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(acquire())
      yield* TestClock.adjust("1999 millis")
      expect(yield* requested).toEqual([`GET ${IMDS}`])
      yield* TestClock.adjust("1 milli")
      const result = yield* Fiber.join(fiber)
      expect(result.tokenSource).toBe("identity_provider")
      expect(yield* requested).toEqual([`GET ${IMDS}`, `POST ${GLOBAL}`])
      // asked once per client: no second probe
      yield* acquire(["https://vault.azure.net/.default"])
      expect((yield* requested).filter((r) => r.startsWith("GET"))).toHaveLength(1)
    }).pipe(
      withEnv({}),
      Effect.provide(clientLayer({ azureRegion: "discover" }, {
        getResponses: { "/metadata/instance/compute": { status: 200, body: { location: "westus2" }, delay: "1 hour" } }
      }))
    ))

  it.effect("the IMDS timeout is configurable", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(acquire())
      yield* TestClock.adjust("300 millis")
      yield* Fiber.join(fiber)
      expect(yield* requested).toEqual([`GET ${IMDS}`, `POST ${GLOBAL}`])
    }).pipe(
      withEnv({}),
      Effect.provide(clientLayer({ azureRegion: "discover", azureRegionTimeout: "300 millis" }, {
        getResponses: { "/metadata/instance/compute": { status: 200, body: { location: "westus2" }, delay: "1 hour" } }
      }))
    ))

  it.effect("no region found: a log line says the global endpoint is used", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      yield* acquire().pipe(Effect.provide(logged(lines)))
      expect(lines.some((l) => l.startsWith("INFO") && l.includes("no Azure region was found"))).toBe(true)
    }).pipe(withEnv({}), Effect.provide(clientLayer({ azureRegion: "discover" }))))

  it.effect("an invalid region is ignored with a warning", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      yield* acquire().pipe(Effect.provide(logged(lines)))
      expect(lines.filter((l) => l.startsWith("WARN"))).toEqual([
        "WARN effect-msal: ignoring the invalid region from the azureRegion option; the global endpoint is used {\"region\":\"westus2.login.microsoft.com\"}"
      ])
      expect(yield* requested).toEqual([`POST ${GLOBAL}`])
    }).pipe(withEnv({}), Effect.provide(clientLayer({ azureRegion: "westus2.login.microsoft.com" }))))

  it.effect("IMDS answers are kept in the HttpCache: another client finds the region without asking", () =>
    Effect.gen(function*() {
      const shared = yield* Layer.build(Layer.merge(services({ imdsLocation: "westus2" }), HttpCache.layerMemory()))
      for (const scope of [GRAPH, "https://vault.azure.net/.default"]) {
        const client = yield* Layer.build(
          ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, azureRegion: "discover" })
        )
          .pipe(Effect.provide(shared))
        yield* acquire([scope]).pipe(Effect.provide(client))
      }
      expect(yield* requested.pipe(Effect.provide(shared))).toEqual([
        `GET ${IMDS}`,
        `POST ${regional("westus2")}`,
        `POST ${regional("westus2")}`
      ])
    }).pipe(withEnv({}), Effect.scoped))
})

describe("regional endpoints", () => {
  it.effect("other clouds use {region}.{host}", () =>
    Effect.gen(function*() {
      yield* acquire()
      expect(yield* requested).toEqual([
        "POST https://usgovvirginia.login.microsoftonline.us/contoso/oauth2/v2.0/token"
      ])
    }).pipe(
      withEnv({}),
      Effect.provide(
        clientLayer({ authority: "https://login.microsoftonline.us/contoso", azureRegion: "usgovvirginia" })
      )
    ))

  it.effect("a tenant override keeps the region", () =>
    Effect.gen(function*() {
      yield* Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) =>
        c.acquireTokenForClient({ scopes: [GRAPH], tenant: "fabrikam" }))
      expect(yield* requested).toEqual(["POST https://westus.login.microsoft.com/fabrikam/oauth2/v2.0/token"])
    }).pipe(withEnv({}), Effect.provide(clientLayer({ azureRegion: "westus" }))))

  it.effect("B2C, CIAM and AD FS authorities have no regional endpoint", () =>
    Effect.gen(function*() {
      const shared = yield* Layer.build(services())
      for (
        const authority of [
          "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi",
          "https://contoso.ciamlogin.com",
          "https://fs.contoso.com/adfs"
        ]
      ) {
        const client = yield* Layer.build(
          ConfidentialClient.layer({ clientId: CLIENT_ID, authority, azureRegion: "westus" })
        )
          .pipe(Effect.provide(shared))
        yield* acquire().pipe(Effect.provide(client))
      }
      const posts = (yield* requested.pipe(Effect.provide(shared))).filter((r) => r.startsWith("POST"))
      expect(posts).toEqual([
        // discovery answers a domain-named tenant with its tenant id's endpoints, as Entra does
        "POST https://contoso.b2clogin.com/72f988bf-86f1-41af-91ab-2d7cd011db47/B2C_1_susi/oauth2/v2.0/token",
        "POST https://contoso.ciamlogin.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token",
        "POST https://fs.contoso.com/adfs/oauth2/token/"
      ])
    }).pipe(withEnv({}), Effect.scoped))

  it.effect("an unreachable regional endpoint: the request falls back to the global one", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(acquire())
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      expect(result.tokenSource).toBe("identity_provider")
      const posts = (yield* requested).filter((r) => r.startsWith("POST"))
      expect(posts.length).toBeGreaterThanOrEqual(2)
      expect(posts.slice(0, -1).every((p) => p === `POST ${regional("westus")}`)).toBe(true)
      expect(posts.at(-1)).toBe(`POST ${GLOBAL}`)
      // the token is cached under the central environment: the next call is a cache hit
      expect((yield* acquire()).tokenSource).toBe("cache")
      // the next network request tries the region again (the fallback is per request)
      const next = yield* Effect.fork(acquire(["https://vault.azure.net/.default"]))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(next)
      expect((yield* requested).filter((r) => r.startsWith("POST")).slice(posts.length)[0]).toBe(
        `POST ${regional("westus")}`
      )
    }).pipe(
      withEnv({}),
      Effect.provide(clientLayer({ azureRegion: "westus" }, { unreachableHosts: ["westus.login.microsoft.com"] }))
    ))

  it.effect("a regional token is found by a client on the global endpoint", () =>
    Effect.gen(function*() {
      const shared = yield* Layer.build(services())
      const build = (azureRegion: string | false) =>
        Layer.build(ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, azureRegion })).pipe(
          Effect.provide(shared)
        )
      const one = yield* acquire().pipe(Effect.provide(yield* build("westus")))
      const two = yield* acquire().pipe(Effect.provide(yield* build(false)))
      expect(two.tokenSource).toBe("cache")
      expect(Redacted.value(two.accessToken)).toBe(Redacted.value(one.accessToken))
    }).pipe(withEnv({}), Effect.scoped))
})
