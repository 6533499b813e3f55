import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, ConfigError, ConfigProvider, Effect, Exit, Layer, Logger, Option } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfidentialClient, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Config from "../src/internal/config.js"

const ID = "11111111-2222-3333-4444-555555555555"
const SECRET = "env-s3cret~value"
const PASSWORD = "pfx-Pa55word"
const BASE = { AZURE_CLIENT_ID: ID, AZURE_TENANT_ID: "contoso.onmicrosoft.com" }
const GRAPH = "https://graph.microsoft.com/.default"

let dir = ""
const files = { pem: "", pfx: "", federated: "" }
const FEDERATED = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.federated-signature"

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "effect-msal-config-"))
  const key = join(dir, "app.key")
  const cert = join(dir, "app.crt")
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-subj",
    "/CN=app",
    "-days",
    "2"
  ], { stdio: "ignore" })
  files.pem = join(dir, "app.pem")
  writeFileSync(files.pem, readFileSync(key, "utf8") + readFileSync(cert, "utf8"))
  files.pfx = join(dir, "app.pfx")
  execFileSync("openssl", [
    "pkcs12",
    "-export",
    "-inkey",
    key,
    "-in",
    cert,
    "-passout",
    `pass:${PASSWORD}`,
    "-out",
    files.pfx
  ], { stdio: "ignore" })
  files.federated = join(dir, "token")
  writeFileSync(files.federated, FEDERATED)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const provider = (env: Readonly<Record<string, string>>) => ConfigProvider.fromMap(new Map(Object.entries(env)))

/** Every variable a ConfigError names. */
const namesIn = (error: ConfigError.ConfigError): ReadonlyArray<string> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...namesIn(error.left), ...namesIn(error.right)]
    default:
      return error.path
  }
}

const settingsOf = (env: Readonly<Record<string, string>>) =>
  Effect.runSyncExit(Effect.withConfigProvider(Config.settings(), provider(env)))

describe("ConfidentialClient.layerConfig: the environment table", () => {
  const failures: ReadonlyArray<readonly [string, Readonly<Record<string, string>>, string, RegExp]> = [
    ["nothing set", {}, "AZURE_CLIENT_ID", /Missing data/],
    ["no tenant", { AZURE_CLIENT_ID: ID, AZURE_CLIENT_SECRET: SECRET }, "AZURE_TENANT_ID", /Missing data/],
    [
      "a blank client id",
      { ...BASE, AZURE_CLIENT_ID: "  ", AZURE_CLIENT_SECRET: SECRET },
      "AZURE_CLIENT_ID",
      /must not be empty/
    ],
    ["no credential", BASE, "AZURE_CLIENT_SECRET", /AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE/],
    ["a blank secret is unset", { ...BASE, AZURE_CLIENT_SECRET: "" }, "AZURE_CLIENT_SECRET", /no client credential/],
    [
      "a certificate password without a certificate",
      { ...BASE, AZURE_CLIENT_SECRET: SECRET, AZURE_CLIENT_CERTIFICATE_PASSWORD: PASSWORD },
      "AZURE_CLIENT_CERTIFICATE_PASSWORD",
      /AZURE_CLIENT_CERTIFICATE_PATH is not/
    ],
    [
      "send-chain without a certificate",
      { ...BASE, AZURE_FEDERATED_TOKEN_FILE: "/t", AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: "true" },
      "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
      /is not/
    ],
    [
      "send-chain not a boolean",
      { ...BASE, AZURE_CLIENT_CERTIFICATE_PATH: "/x.pem", AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: "maybe" },
      "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
      /true or false/
    ],
    [
      "an authority host without scheme",
      { ...BASE, AZURE_CLIENT_SECRET: SECRET, AZURE_AUTHORITY_HOST: "login.microsoftonline.us" },
      "AZURE_AUTHORITY_HOST",
      /absolute URL/
    ],
    [
      "an http authority host",
      { ...BASE, AZURE_CLIENT_SECRET: SECRET, AZURE_AUTHORITY_HOST: "http://login.microsoftonline.com" },
      "AZURE_AUTHORITY_HOST",
      /https/
    ],
    [
      "a tenant with a slash",
      { ...BASE, AZURE_TENANT_ID: "a/b", AZURE_CLIENT_SECRET: SECRET },
      "AZURE_TENANT_ID",
      /tenant/
    ],
    [
      "an invalid region",
      { ...BASE, AZURE_CLIENT_SECRET: SECRET, MSAL_FORCE_REGION: "East US" },
      "MSAL_FORCE_REGION",
      /region name/
    ],
    [
      "an invalid AZURE_REGIONAL_AUTHORITY_NAME",
      { ...BASE, AZURE_CLIENT_SECRET: SECRET, AZURE_REGIONAL_AUTHORITY_NAME: "West US 2" },
      "AZURE_REGIONAL_AUTHORITY_NAME",
      /region name .*or AutoDiscoverRegion/
    ]
  ]

  for (const [label, env, variable, message] of failures) {
    it(`${label} → a ConfigError naming ${variable}`, () => {
      const exit = settingsOf(env)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isSuccess(exit)) return
      const error = Option.getOrThrow(Cause.failureOption(exit.cause))
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(namesIn(error)).toContain(variable)
      const pretty = Cause.pretty(exit.cause)
      expect(pretty).toMatch(message)
      expect(pretty).not.toContain(SECRET)
      expect(pretty).not.toContain(PASSWORD)
    })
  }

  const successes: ReadonlyArray<readonly [string, Readonly<Record<string, string>>, Record<string, unknown>, string]> =
    [
      [
        "a secret",
        { ...BASE, AZURE_CLIENT_SECRET: SECRET },
        { clientId: ID, authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com" },
        "Secret"
      ],
      [
        "another cloud, trailing slash and blank variables ignored",
        {
          ...BASE,
          AZURE_CLIENT_SECRET: SECRET,
          AZURE_AUTHORITY_HOST: "https://login.microsoftonline.us/",
          AZURE_FEDERATED_TOKEN_FILE: " "
        },
        { authority: "https://login.microsoftonline.us/contoso.onmicrosoft.com" },
        "Secret"
      ],
      [
        "a certificate file with password and chain",
        {
          ...BASE,
          AZURE_CLIENT_CERTIFICATE_PATH: "/etc/app.pfx",
          AZURE_CLIENT_CERTIFICATE_PASSWORD: PASSWORD,
          AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: "1"
        },
        {},
        "CertificateFile"
      ],
      ["a federated token file", { ...BASE, AZURE_FEDERATED_TOKEN_FILE: "/var/run/token" }, {}, "FederatedTokenFile"],
      ["a forced region", { ...BASE, AZURE_CLIENT_SECRET: SECRET, MSAL_FORCE_REGION: "westus2" }, {
        azureRegion: "westus2"
      }, "Secret"],
      [
        "AZURE_REGIONAL_AUTHORITY_NAME (as @azure/identity reads it)",
        { ...BASE, AZURE_CLIENT_SECRET: SECRET, AZURE_REGIONAL_AUTHORITY_NAME: "westeurope" },
        { azureRegion: "westeurope" },
        "Secret"
      ],
      [
        "AZURE_REGIONAL_AUTHORITY_NAME=AutoDiscoverRegion asks for discovery",
        { ...BASE, AZURE_CLIENT_SECRET: SECRET, AZURE_REGIONAL_AUTHORITY_NAME: "AutoDiscoverRegion" },
        { azureRegion: "discover" },
        "Secret"
      ],
      [
        "MSAL_FORCE_REGION wins over AZURE_REGIONAL_AUTHORITY_NAME",
        {
          ...BASE,
          AZURE_CLIENT_SECRET: SECRET,
          MSAL_FORCE_REGION: "eastus",
          AZURE_REGIONAL_AUTHORITY_NAME: "westeurope"
        },
        { azureRegion: "eastus" },
        "Secret"
      ],
      // several credentials: @azure/identity's precedence (secret, certificate, then workload identity)
      [
        "secret and certificate: the secret",
        {
          ...BASE,
          AZURE_CLIENT_SECRET: SECRET,
          AZURE_CLIENT_CERTIFICATE_PATH: "/x.pem",
          AZURE_CLIENT_CERTIFICATE_PASSWORD: PASSWORD
        },
        {},
        "Secret"
      ],
      [
        "a workload-identity pod with a leftover secret: the secret",
        { ...BASE, AZURE_CLIENT_SECRET: SECRET, AZURE_FEDERATED_TOKEN_FILE: "/var/run/token" },
        {},
        "Secret"
      ],
      [
        "certificate and federated token: the certificate",
        { ...BASE, AZURE_CLIENT_CERTIFICATE_PATH: "/x.pem", AZURE_FEDERATED_TOKEN_FILE: "/t" },
        {},
        "CertificateFile"
      ]
    ]

  for (const [label, env, options, kind] of successes) {
    it(`${label} → ${kind}`, () => {
      const exit = settingsOf(env)
      expect(Exit.isSuccess(exit)).toBe(true)
      if (Exit.isFailure(exit)) return
      expect(exit.value.options).toMatchObject(options)
      expect(exit.value.credential._tag).toBe(kind)
      expect(JSON.stringify(exit.value)).not.toContain(SECRET)
      expect(JSON.stringify(exit.value)).not.toContain(PASSWORD)
    })
  }

  it("the certificate credential carries the password and the chain flag", () => {
    const exit = settingsOf({
      ...BASE,
      AZURE_CLIENT_CERTIFICATE_PATH: "/etc/app.pfx",
      AZURE_CLIENT_CERTIFICATE_PASSWORD: PASSWORD,
      AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: "false"
    })
    if (Exit.isFailure(exit)) throw new Error("expected settings")
    const credential = exit.value.credential
    if (credential._tag !== "CertificateFile") throw new Error("expected a certificate file")
    expect(credential.path).toBe("/etc/app.pfx")
    expect(credential.sendCertificateChain).toBe(false)
    expect(String(credential.passphrase)).toBe("<redacted>")
  })

  it("several credentials: a warning names the one used and the ignored ones, never a value", () => {
    const exit = settingsOf({
      ...BASE,
      AZURE_CLIENT_SECRET: SECRET,
      AZURE_CLIENT_CERTIFICATE_PATH: "/x.pem",
      AZURE_FEDERATED_TOKEN_FILE: "/var/run/token"
    })
    if (Exit.isFailure(exit)) throw new Error("expected settings")
    expect(exit.value.warning).toBe(
      "effect-msal: several client credentials are set: using AZURE_CLIENT_SECRET, ignoring " +
        "AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE (the precedence of @azure/identity's " +
        "EnvironmentCredential: AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE)"
    )
    expect(exit.value.warning).not.toContain(SECRET)
    const single = settingsOf({ ...BASE, AZURE_CLIENT_SECRET: SECRET })
    if (Exit.isFailure(single)) throw new Error("expected settings")
    expect(single.value.warning).toBeUndefined()
  })

  it("options given in code are kept; an explicit azureRegion wins over MSAL_FORCE_REGION", () => {
    const exit = Effect.runSyncExit(Effect.withConfigProvider(
      Config.settings({ appName: "worker", azureRegion: false }),
      provider({ ...BASE, AZURE_CLIENT_SECRET: SECRET, MSAL_FORCE_REGION: "eastus" })
    ))
    if (Exit.isFailure(exit)) throw new Error("expected settings")
    expect(exit.value.options).toMatchObject({ appName: "worker", azureRegion: false, clientId: ID })
  })
})

/** A client from the environment, against the in-process test authority. */
const acquire = (env: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient
    const result = yield* client.acquireTokenForClient({ scopes: [GRAPH] })
    const [request] = yield* (yield* TestAuthority.TestAuthority).tokenRequests
    return { result, request: request! }
  }).pipe(
    Effect.provide(
      ConfidentialClient.layerConfig().pipe(
        Layer.provide(TokenCache.layerMemory()),
        Layer.provide(TestAuthority.layerHttpClient),
        Layer.provideMerge(TestAuthority.layer())
      )
    ),
    Effect.withConfigProvider(provider(env))
  )

const jwtHeader = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString("utf8"))

describe("ConfidentialClient.layerConfig: end to end", () => {
  it.effect("a secret: client id, tenant and secret reach the token endpoint", () =>
    Effect.gen(function*() {
      const { request, result } = yield* acquire({ ...BASE, AZURE_CLIENT_SECRET: SECRET })
      // AZURE_TENANT_ID names a domain: discovery answers with its tenant id's endpoints
      expect(request.url).toBe(
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"
      )
      expect(request.form).toMatchObject({ client_id: ID, client_secret: SECRET, grant_type: "client_credentials" })
      expect(result.tenantId).toBe("72f988bf-86f1-41af-91ab-2d7cd011db47")
    }))

  it.effect("AZURE_AUTHORITY_HOST picks the cloud", () =>
    Effect.gen(function*() {
      const { request } = yield* acquire({
        ...BASE,
        AZURE_CLIENT_SECRET: SECRET,
        AZURE_AUTHORITY_HOST: "https://login.microsoftonline.us"
      })
      expect(new URL(request.url).host).toBe("login.microsoftonline.us")
    }))

  it.effect("a federated token file is sent as the client assertion", () =>
    Effect.gen(function*() {
      const { request } = yield* acquire({ ...BASE, AZURE_FEDERATED_TOKEN_FILE: files.federated })
      expect(request.form.client_assertion).toBe(FEDERATED)
      expect(request.form.client_assertion_type).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
      expect(request.form.client_secret).toBeUndefined()
    }))

  it.effect("a PEM certificate file signs an assertion (x5t#S256, no x5c)", () =>
    Effect.gen(function*() {
      const { request } = yield* acquire({ ...BASE, AZURE_CLIENT_CERTIFICATE_PATH: files.pem })
      const header = jwtHeader(request.form.client_assertion!)
      expect(header["x5t#S256"]).toEqual(expect.any(String))
      expect(header.x5c).toBeUndefined()
    }))

  it.effect("a PFX with its password and AZURE_CLIENT_SEND_CERTIFICATE_CHAIN sends x5c", () =>
    Effect.gen(function*() {
      const { request } = yield* acquire({
        ...BASE,
        AZURE_CLIENT_CERTIFICATE_PATH: files.pfx,
        AZURE_CLIENT_CERTIFICATE_PASSWORD: PASSWORD,
        AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: "true"
      })
      expect(jwtHeader(request.form.client_assertion!).x5c).toEqual([expect.any(String)])
    }))

  it.effect("MSAL_FORCE_REGION sends client credentials to the regional host", () =>
    Effect.gen(function*() {
      const { request } = yield* acquire({ ...BASE, AZURE_CLIENT_SECRET: SECRET, MSAL_FORCE_REGION: "westus2" })
      expect(new URL(request.url).host).toBe("westus2.login.microsoft.com")
    }))

  it.effect("a leftover secret beside a federated token file: the secret is used, and layerConfig logs the warning", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        lines.push(`${logLevel.label} ${String(Array.isArray(message) ? message.join(" ") : message)}`)
      })
      const { request } = yield* acquire({
        ...BASE,
        AZURE_CLIENT_SECRET: SECRET,
        AZURE_FEDERATED_TOKEN_FILE: files.federated
      }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      expect(request.form.client_secret).toBe(SECRET)
      expect(request.form.client_assertion).toBeUndefined()
      expect(lines.filter((line) => line.includes("several client credentials"))).toEqual([
        expect.stringMatching(
          /^WARN effect-msal: several client credentials are set: using AZURE_CLIENT_SECRET, ignoring AZURE_FEDERATED_TOKEN_FILE/
        )
      ])
      expect(lines.join("\n")).not.toContain(SECRET)
    }))

  it.effect("AZURE_REGIONAL_AUTHORITY_NAME sends client credentials to the regional host", () =>
    Effect.gen(function*() {
      const { request } = yield* acquire({
        ...BASE,
        AZURE_CLIENT_SECRET: SECRET,
        AZURE_REGIONAL_AUTHORITY_NAME: "westus2"
      })
      expect(new URL(request.url).host).toBe("westus2.login.microsoft.com")
    }))

  it.effect("a missing variable fails the layer with a ConfigError, not a defect", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(acquire({ AZURE_TENANT_ID: "contoso" }))
      expect(ConfigError.isConfigError(error)).toBe(true)
    }))

  it.effect("an unreadable certificate file fails the layer with a CredentialError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(acquire({ ...BASE, AZURE_CLIENT_CERTIFICATE_PATH: join(dir, "missing.pem") }))
      expect(error._tag).toBe("CredentialError")
    }))
})
