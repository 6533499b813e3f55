import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Arc from "../src/internal/managedIdentity/arc.js"
import * as Response from "../src/internal/managedIdentity/response.js"
import * as Retry from "../src/internal/managedIdentity/retry.js"
import type { Environment, Identity, Source, SourceRequest } from "../src/internal/managedIdentity/source.js"
import * as Sources from "../src/internal/managedIdentity/source.js"

const SYSTEM: Identity = { _tag: "SystemAssigned" }
const detect = (env: Environment, arc = false) => Either.getOrThrow(Sources.detect(env, arc))
const plain = (request: SourceRequest) => ({
  ...request,
  headers: Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, Redacted.isRedacted(v) ? Redacted.value(v) : v])
  )
})

describe("source detection (msal-node order)", () => {
  it("IMDS by default, at 169.254.169.254", () => {
    expect(detect({})).toEqual({ name: "Imds", endpoint: "http://169.254.169.254/metadata/identity/oauth2/token" })
  })

  it("AZURE_POD_IDENTITY_AUTHORITY_HOST moves IMDS (trailing slashes dropped)", () => {
    expect(detect({ AZURE_POD_IDENTITY_AUTHORITY_HOST: "http://localhost:1234//" }).endpoint).toBe(
      "http://localhost:1234/metadata/identity/oauth2/token"
    )
  })

  it("Service Fabric needs endpoint, header and thumbprint; without the thumbprint it is App Service", () => {
    const sf = detect({
      IDENTITY_ENDPOINT: "https://10.0.0.4:2377/metadata/identity/oauth2/token",
      IDENTITY_HEADER: "h",
      IDENTITY_SERVER_THUMBPRINT: "ab"
    })
    expect(sf.name).toBe("ServiceFabric")
    expect(sf.serverThumbprint).toBe("ab")
    const app = detect({ IDENTITY_ENDPOINT: "http://127.0.0.1:41741/msi/token", IDENTITY_HEADER: "h" })
    expect(app.name).toBe("AppService")
    expect(app.endpoint).toBe("http://127.0.0.1:41741/msi/token")
  })

  it("Azure ML needs MSI_ENDPOINT and MSI_SECRET; MSI_ENDPOINT alone is Cloud Shell", () => {
    const ml = detect({
      MSI_ENDPOINT: "http://127.0.0.1:46808/msi/auth",
      MSI_SECRET: "s",
      DEFAULT_IDENTITY_CLIENT_ID: "dc"
    })
    expect(ml.name).toBe("MachineLearning")
    expect(ml.defaultClientId).toBe("dc")
    expect(detect({ MSI_ENDPOINT: "http://localhost:50342/oauth2/token" }).name).toBe("CloudShell")
  })

  it("Azure Arc from IDENTITY_ENDPOINT and IMDS_ENDPOINT (localhost becomes 127.0.0.1), or from the installed agent", () => {
    expect(
      detect({
        IDENTITY_ENDPOINT: "http://localhost:40342/metadata/identity/oauth2/token",
        IMDS_ENDPOINT: "http://localhost:40342"
      })
    )
      .toEqual({ name: "AzureArc", endpoint: "http://127.0.0.1:40342/metadata/identity/oauth2/token" })
    expect(detect({}, true)).toEqual({
      name: "AzureArc",
      endpoint: "http://127.0.0.1:40342/metadata/identity/oauth2/token"
    })
  })

  it("precedence: Service Fabric > App Service > Azure ML > Cloud Shell > Arc > IMDS", () => {
    const all = {
      IDENTITY_ENDPOINT: "http://a/",
      IDENTITY_HEADER: "h",
      IDENTITY_SERVER_THUMBPRINT: "t",
      IMDS_ENDPOINT: "http://b/",
      MSI_ENDPOINT: "http://c/",
      MSI_SECRET: "s",
      AZURE_POD_IDENTITY_AUTHORITY_HOST: "http://d"
    }
    expect(detect(all, true).name).toBe("ServiceFabric")
    expect(detect({ ...all, IDENTITY_SERVER_THUMBPRINT: undefined }, true).name).toBe("AppService")
    expect(detect({ ...all, IDENTITY_SERVER_THUMBPRINT: "", IDENTITY_HEADER: "" }, true).name).toBe("MachineLearning")
    expect(detect({ ...all, IDENTITY_HEADER: undefined, MSI_SECRET: undefined }, true).name).toBe("CloudShell")
    expect(detect({ ...all, IDENTITY_HEADER: undefined, MSI_ENDPOINT: undefined }, false).name).toBe("AzureArc")
    expect(detect({ AZURE_POD_IDENTITY_AUTHORITY_HOST: "http://d" }, false).name).toBe("Imds")
  })

  it("a malformed endpoint is an InvalidRequest naming the variable, never a defect", () => {
    const result = Sources.detect({ IDENTITY_ENDPOINT: "not a url", IDENTITY_HEADER: "h" }, false)
    expect(Either.isLeft(result) && result.left._tag === "InvalidRequest" && result.left.field).toBe(
      "IDENTITY_ENDPOINT"
    )
    const ftp = Sources.detect({ MSI_ENDPOINT: "ftp://x/y" }, false)
    expect(Either.isLeft(ftp) && ftp.left.field).toBe("MSI_ENDPOINT")
  })

  it("the secret is kept Redacted", () => {
    const app = detect({ IDENTITY_ENDPOINT: "http://a/", IDENTITY_HEADER: "very-secret" })
    expect(String(app.secret)).not.toContain("very-secret")
  })
})

describe("which identities each source supports", () => {
  const source = (name: Source["name"]): Source => ({ name, endpoint: "http://x/" })
  const kinds: ReadonlyArray<Identity> = [
    SYSTEM,
    { _tag: "ClientId", id: "c" },
    { _tag: "ObjectId", id: "o" },
    { _tag: "ResourceId", id: "r" }
  ]
  const supported = (name: Source["name"]) => kinds.map((k) => Either.isRight(Sources.checkSupported(source(name), k)))

  it("IMDS, App Service and Service Fabric take every kind", () => {
    for (const name of ["Imds", "AppService", "ServiceFabric"] as const)
      expect(supported(name)).toEqual([true, true, true, true])
  })
  it("Azure Arc and Cloud Shell only system-assigned; Azure ML system-assigned or a client id", () => {
    expect(supported("AzureArc")).toEqual([true, false, false, false])
    expect(supported("CloudShell")).toEqual([true, false, false, false])
    expect(supported("MachineLearning")).toEqual([true, true, false, false])
  })
  it("the refusal is an InvalidRequest on managedIdentity naming the source", () => {
    const result = Sources.checkSupported(source("AzureArc"), { _tag: "ClientId", id: "c" })
    expect(Either.isLeft(result) && result.left).toMatchObject({
      _tag: "InvalidRequest",
      field: "managedIdentity",
      description: "the detected managed identity source AzureArc supports only a system-assigned identity"
    })
  })
})

describe("request builders", () => {
  const R = "https://management.azure.com"
  const build = (source: Source, input: Partial<Sources.RequestInput> = {}) =>
    plain(Sources.buildRequest(source, { resource: R, identity: SYSTEM, ...input }))

  it("IMDS: GET with Metadata: true, api-version 2018-02-01, msi_res_id for a resource id", () => {
    const imds: Source = { name: "Imds", endpoint: "http://169.254.169.254/metadata/identity/oauth2/token" }
    expect(build(imds)).toEqual({
      method: "GET",
      url:
        "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com",
      headers: { Metadata: "true" }
    })
    expect(build(imds, { identity: { _tag: "ResourceId", id: "/subscriptions/s/rg" } }).url).toBe(
      "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com&msi_res_id=%2Fsubscriptions%2Fs%2Frg"
    )
    expect(build(imds, { identity: { _tag: "ClientId", id: "cid" } }).url).toContain("&client_id=cid")
    expect(build(imds, { identity: { _tag: "ObjectId", id: "oid" } }).url).toContain("&object_id=oid")
  })

  it("IMDS does not take token_sha256_to_refresh", () => {
    const imds: Source = { name: "Imds", endpoint: "http://i/t" }
    expect(build(imds, { tokenSha256ToRefresh: "abc" }).url).not.toContain("token_sha256_to_refresh")
  })

  it("App Service: X-IDENTITY-HEADER, api-version 2019-08-01, mi_res_id for a resource id", () => {
    const app: Source = {
      name: "AppService",
      endpoint: "http://127.0.0.1:41741/msi/token",
      secret: Redacted.make("hdr")
    }
    expect(build(app, { identity: { _tag: "ResourceId", id: "rid" } })).toEqual({
      method: "GET",
      url:
        "http://127.0.0.1:41741/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com&mi_res_id=rid",
      headers: { "X-IDENTITY-HEADER": "hdr" }
    })
  })

  it("Service Fabric: secret header, api-version 2019-07-01-preview, token_sha256_to_refresh and xms_cc", () => {
    const sf: Source = {
      name: "ServiceFabric",
      endpoint: "https://sf/t",
      secret: Redacted.make("s"),
      serverThumbprint: "t"
    }
    expect(build(sf, { tokenSha256ToRefresh: "ff00", clientCapabilities: ["cp1", "cp2"] })).toEqual({
      method: "GET",
      url:
        "https://sf/t?api-version=2019-07-01-preview&resource=https%3A%2F%2Fmanagement.azure.com&token_sha256_to_refresh=ff00&xms_cc=cp1%2Ccp2",
      headers: { secret: "s" }
    })
  })

  it("Azure ML: Metadata and secret, api-version 2017-09-01, clientid (DEFAULT_IDENTITY_CLIENT_ID when system-assigned)", () => {
    const ml: Source = {
      name: "MachineLearning",
      endpoint: "http://ml/msi/auth",
      secret: Redacted.make("s"),
      defaultClientId: "dflt"
    }
    expect(build(ml)).toEqual({
      method: "GET",
      url: "http://ml/msi/auth?api-version=2017-09-01&resource=https%3A%2F%2Fmanagement.azure.com&clientid=dflt",
      headers: { Metadata: "true", secret: "s" }
    })
    expect(build(ml, { identity: { _tag: "ClientId", id: "mine" } }).url).toContain("&clientid=mine")
    expect(build({ ...ml, defaultClientId: undefined }).url).not.toContain("clientid")
  })

  it("Cloud Shell: a form POST of resource with Metadata: true, nothing in the query", () => {
    const cs: Source = { name: "CloudShell", endpoint: "http://localhost:50342/oauth2/token" }
    expect(build(cs)).toEqual({
      method: "POST",
      url: "http://localhost:50342/oauth2/token",
      headers: { Metadata: "true" },
      form: [["resource", R]]
    })
  })

  it("Azure Arc: Metadata: true and api-version 2019-11-01, then the key as Authorization: Basic", () => {
    const arc: Source = { name: "AzureArc", endpoint: "http://127.0.0.1:40342/metadata/identity/oauth2/token" }
    expect(build(arc)).toEqual({
      method: "GET",
      url:
        "http://127.0.0.1:40342/metadata/identity/oauth2/token?api-version=2019-11-01&resource=https%3A%2F%2Fmanagement.azure.com",
      headers: { Metadata: "true" }
    })
    expect(build(arc, { arcKey: Redacted.make("k3y") }).headers).toEqual({
      Metadata: "true",
      Authorization: "Basic k3y"
    })
  })

  it("secret header values stay Redacted in the request data", () => {
    const app: Source = { name: "AppService", endpoint: "http://a/", secret: Redacted.make("hdr-secret") }
    const request = Sources.buildRequest(app, { resource: R, identity: SYSTEM })
    expect(JSON.stringify(request)).not.toContain("hdr-secret")
  })

  it("resources drop /.default; cache ids; SHA-256 in hex", () => {
    expect(Sources.resourceOf("https://vault.azure.net/.default")).toBe("https://vault.azure.net")
    expect(Sources.cacheClientId(SYSTEM)).toBe("system_assigned_managed_identity")
    expect(Sources.cacheClientId({ _tag: "ObjectId", id: "o-1" })).toBe("o-1")
    expect(Sources.tokenSha256("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  })
})

describe("response processing", () => {
  const NOW = 1_700_000_000_000
  const now = NOW / 1000
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response.RawResponse => ({
    status,
    headers,
    body: JSON.stringify(body)
  })
  const ok = (source: Sources.SourceName, r: Response.RawResponse) => {
    const out = Response.interpret(source, "http://mi/token", r, NOW, true)
    if (Either.isLeft(out)) throw new Error(`unexpected ${out.left._tag}: ${out.left.message}`)
    return out.right
  }
  const fail = (source: Sources.SourceName, r: Response.RawResponse) => {
    const out = Response.interpret(source, "http://mi/token", r, NOW, true)
    if (Either.isRight(out)) throw new Error("unexpected success")
    return out.left
  }

  it("IMDS: string expires_in and expires_on; a day-long token refreshes at half its life", () => {
    const token = ok(
      "Imds",
      json(200, {
        access_token: "at",
        refresh_token: "",
        expires_in: "86399",
        expires_on: String(now + 86399),
        not_before: String(now),
        resource: "https://management.azure.com/",
        token_type: "Bearer"
      })
    )
    expect(token).toMatchObject({
      _tag: "Token",
      tokenType: "Bearer",
      expiresIn: 86399,
      refreshIn: 43199,
      resource: "https://management.azure.com/"
    })
  })

  it("App Service / Service Fabric: expires_on only, as a number or an ISO date; short tokens get no refresh_in", () => {
    expect(
      ok(
        "AppService",
        json(200, { access_token: "at", expires_on: String(now + 3600), resource: "r", token_type: "Bearer" })
      )
    )
      .toMatchObject({ expiresIn: 3600 })
    const sf = ok(
      "ServiceFabric",
      json(200, { access_token: "at", expires_on: now + 3600, resource: "r", token_type: "Bearer" })
    )
    expect(sf).toMatchObject({ expiresIn: 3600 })
    expect("refreshIn" in sf).toBe(false)
    expect(ok("AppService", json(200, { access_token: "at", expires_on: new Date(NOW + 7300_000).toISOString() })))
      .toMatchObject({ expiresIn: 7300, refreshIn: 3650 })
  })

  it("a refresh_in sent by the endpoint wins", () => {
    expect(ok("Imds", json(200, { access_token: "at", expires_in: 86400, refresh_in: 600 }))).toMatchObject({
      refreshIn: 600
    })
  })

  it("errors: IMDS's OAuth shape, Service Fabric's nested error, App Service's message", () => {
    expect(fail("Imds", json(400, { error: "invalid_request", error_description: "Identity not found" })))
      .toMatchObject({
        _tag: "ServerError",
        error: "invalid_request",
        errorDescription: "Identity not found",
        status: 400
      })
    expect(
      fail(
        "ServiceFabric",
        json(404, {
          error: {
            correlationId: "c-1",
            code: "SecretHeaderNotFound",
            message: "Secret is not found in the request headers."
          }
        })
      )
    )
      .toMatchObject({
        _tag: "ServerError",
        error: "SecretHeaderNotFound",
        errorDescription: "Secret is not found in the request headers.",
        correlationId: "c-1",
        status: 404
      })
    expect(
      fail(
        "AppService",
        json(500, { statusCode: 500, message: "An unexpected error occured while fetching the AAD Token." })
      )
    )
      .toMatchObject({
        _tag: "ServerError",
        error: "invalid_request",
        errorDescription: "An unexpected error occured while fetching the AAD Token.",
        status: 500
      })
  })

  it("Retry-After is kept on the error", () => {
    expect(fail("Imds", json(429, { error: "throttled" }, { "retry-after": "7" }))).toMatchObject({
      status: 429,
      retryAfter: 7
    })
  })

  it("non-JSON bodies and token-less successes are NetworkErrors", () => {
    expect(fail("Imds", { status: 502, headers: {}, body: "<html>bad gateway</html>" })).toMatchObject({
      _tag: "NetworkError",
      reason: "Status",
      status: 502,
      description: "the managed identity endpoint answered with an HTML page"
    })
    expect(fail("Imds", { status: 200, headers: {}, body: "{trunc" })).toMatchObject({
      _tag: "NetworkError",
      reason: "InvalidResponse"
    })
    expect(fail("Imds", json(200, { token_type: "Bearer" }))).toMatchObject({
      _tag: "NetworkError",
      description: "the answer has no access_token"
    })
    expect(fail("Imds", json(200, { access_token: "at" }))).toMatchObject({
      _tag: "NetworkError",
      description: "the answer has neither expires_on nor expires_in"
    })
  })

  it("a redirect is refused, naming its status and the Location's origin only", () => {
    const e = fail("AppService", {
      status: 307,
      headers: { location: "https://evil.example/steal?code=abc" },
      body: ""
    })
    expect(e).toMatchObject({ _tag: "NetworkError", reason: "Status", status: 307 })
    expect(e.message).toContain("https://evil.example")
    expect(e.message).not.toContain("steal")
    expect(e.message).not.toContain("code=abc")
  })

  it("Azure Arc's 401 challenge names the key file; a missing or odd header is a NetworkError", () => {
    expect(
      ok("AzureArc", {
        status: 401,
        headers: { "www-authenticate": "Basic realm=/var/opt/azcmagent/tokens/abc.key" },
        body: ""
      })
    )
      .toEqual({ _tag: "ArcChallenge", path: "/var/opt/azcmagent/tokens/abc.key" })
    expect(fail("AzureArc", { status: 401, headers: {}, body: "" })).toMatchObject({
      _tag: "NetworkError",
      description: "Azure Arc answered 401 without a WWW-Authenticate header"
    })
    expect(fail("AzureArc", { status: 401, headers: { "www-authenticate": "Bearer x" }, body: "" })).toMatchObject({
      _tag: "NetworkError"
    })
  })

  it("a 401 after the key was sent is an error, not another challenge", () => {
    const out = Response.interpret(
      "AzureArc",
      "http://arc/t",
      { status: 401, headers: { "www-authenticate": "Basic realm=/x.key" }, body: "{\"error\":\"unauthorized\"}" },
      NOW,
      false
    )
    expect(Either.isLeft(out) && out.left).toMatchObject({ _tag: "ServerError", error: "unauthorized", status: 401 })
  })

  it("no token value ever appears in an error", () => {
    const e = fail("Imds", json(400, { error: "bad", access_token: "leak-me" }))
    expect(JSON.stringify(e)).not.toContain("leak-me")
    expect(e.message).not.toContain("leak-me")
  })
})

describe("retry policies", () => {
  const imds = (status: number, retry: number, first = status) =>
    Retry.delayMillis("Imds", status, retry, first, undefined)

  it("IMDS: 404, 408, 429 and 5xx three times at 1 s, 2 s, 4 s", () => {
    for (const status of [404, 408, 429, 500, 502, 503, 504, 599]) {
      expect([0, 1, 2, 3].map((r) => imds(status, r))).toEqual([1000, 2000, 4000, undefined])
    }
  })
  it("IMDS: 410 seven times, 10 s apart (70 s in all)", () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => imds(410, r))
    expect(delays).toEqual([10000, 10000, 10000, 10000, 10000, 10000, 10000, undefined])
  })
  it("IMDS: 400, 401, 403 are final", () => {
    for (const status of [400, 401, 403]) expect(imds(status, 0)).toBeUndefined()
  })
  it("other sources: 404, 408, 429, 500, 503, 504 three times, 1 s or Retry-After", () => {
    for (const status of [404, 408, 429, 500, 503, 504]) {
      expect([0, 1, 2, 3].map((r) => Retry.delayMillis("AppService", status, r, status, undefined))).toEqual([
        1000,
        1000,
        1000,
        undefined
      ])
    }
    expect(Retry.delayMillis("ServiceFabric", 429, 0, 429, 5)).toBe(5000)
    expect(Retry.delayMillis("ServiceFabric", 502, 0, 502, undefined)).toBeUndefined()
    expect(Retry.delayMillis("ServiceFabric", 410, 0, 410, undefined)).toBeUndefined()
  })
})

describe("Azure Arc key file", () => {
  const withDir = <A, E>(f: (dir: string) => Effect.Effect<A, E>) =>
    Effect.acquireUseRelease(
      Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "mi-arc-"))),
      (dir) => f(`${dir}/`),
      (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
    )
  const platform = (dir: string): Arc.ArcPlatform => ({
    tokensDirectory: dir,
    himdsPath: undefined,
    pathStyle: "posix"
  })

  it.effect("reads a small .key file from the token directory", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        yield* Effect.promise(() => Fs.writeFile(`${dir}abc.key`, "the-key"))
        const key = yield* Arc.readKey(platform(dir), `${dir}abc.key`, "http://arc/t")
        expect(Redacted.value(key)).toBe("the-key")
      })
    ))

  it.effect("refuses another directory, a traversal, another extension, a large file, a symlink", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        yield* Effect.promise(() => Fs.mkdir(`${dir}sub`))
        yield* Effect.promise(() => Fs.writeFile(`${dir}sub/x.key`, "k"))
        yield* Effect.promise(() => Fs.writeFile(`${dir}x.txt`, "k"))
        yield* Effect.promise(() => Fs.writeFile(`${dir}big.key`, "k".repeat(4097)))
        yield* Effect.promise(() => Fs.writeFile(`${dir}edge.key`, "k".repeat(4096)))
        yield* Effect.promise(() => Fs.symlink(`${dir}sub/x.key`, `${dir}link.key`))
        const read = (path: string) => Effect.flip(Arc.readKey(platform(dir), path, "http://arc/t"))
        expect(yield* read(`${dir}sub/x.key`)).toMatchObject({
          _tag: "NetworkError",
          description: "Azure Arc's challenge names a key file outside the agent's token directory"
        })
        expect(yield* read(`${dir}sub/../sub/x.key`)).toMatchObject({ _tag: "NetworkError" })
        expect(yield* read("/etc/passwd.key")).toMatchObject({ _tag: "NetworkError" })
        expect(yield* read(`${dir}x.txt`)).toMatchObject({
          _tag: "NetworkError",
          description: "Azure Arc's challenge names a file that is not a .key file"
        })
        expect(yield* read(`${dir}big.key`)).toMatchObject({
          _tag: "CredentialError",
          description: "Azure Arc's key file is larger than 4096 bytes"
        })
        expect(yield* read(`${dir}link.key`)).toMatchObject({
          _tag: "CredentialError",
          description: "Azure Arc's key file is not a regular file"
        })
        expect(yield* read(`${dir}missing.key`)).toMatchObject({ _tag: "CredentialError" })
        expect(Redacted.value(yield* Arc.readKey(platform(dir), `${dir}edge.key`, "http://arc/t"))).toHaveLength(4096)
      })
    ))

  it.effect("an unsupported platform is a CredentialError", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(
        Arc.readKey({ tokensDirectory: undefined, himdsPath: undefined, pathStyle: "posix" }, "/x.key", "u")
      )
      expect(e).toMatchObject({
        _tag: "CredentialError",
        description: "Azure Arc managed identity is supported on Linux and Windows only"
      })
    }))
})
