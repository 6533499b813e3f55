/**
 * The test authority's managed-identity endpoints: IMDS, App Service, Azure Arc (with its
 * key-file challenge), Cloud Shell, Service Fabric and Azure ML, each answering in its own
 * shape. Tokens are JWTs signed with a key of the process (`signingKey`), issued by
 * `https://login.microsoftonline.com/<tenant>/v2.0` about the identity's object id, so an
 * app registration can trust them as a federated credential.
 *
 * Routes (the api-version tells sources sharing a path apart, as the real endpoints' do):
 * - `GET /metadata/identity/oauth2/token`: IMDS (2018-02-01), Azure Arc (2019-11-01,
 *   2020-06-01), Service Fabric (2019-07-01-preview);
 * - `GET /msi/token`: App Service (2019-08-01), Azure ML (2017-09-01);
 * - `POST /oauth2/token` with `Metadata: true`: Cloud Shell.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { importPKCS8, SignJWT } from "jose"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type { IssuedToken, ManagedIdentityAccount, OutgoingResponse, Settings } from "../../TestAuthority.js"
import { json } from "./responses.js"

/** The tenant of managed-identity tokens unless settings say otherwise. @internal */
export const DEFAULT_MI_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"

/** The system-assigned identity unless settings say otherwise. @internal */
export const DEFAULT_SYSTEM_ASSIGNED: ManagedIdentityAccount = {
  clientId: "5a1c0e7e-0000-4000-8000-00000000c11e",
  objectId: "5a1c0e7e-0000-4000-8000-0000000000b1",
  resourceId:
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
}

/** @internal */
export const DEFAULT_IDENTITY_HEADER = "test-identity-header"
/** @internal */
export const DEFAULT_MSI_SECRET = "test-msi-secret"

const TOKEN_PATH = "/metadata/identity/oauth2/token"
const MSI_PATH = "/msi/token"
const CLOUD_SHELL_PATH = "/oauth2/token"

/** Whether a request is for a managed-identity endpoint. @internal */
export const isManagedIdentityRequest = (
  method: string,
  pathname: string,
  headers: Readonly<Record<string, string>>
): boolean =>
  (method === "GET" && (pathname === TOKEN_PATH || pathname === MSI_PATH)) ||
  (method === "POST" && pathname === CLOUD_SHELL_PATH && (headers.metadata ?? "").toLowerCase() === "true")

let keyPair: { readonly privateKeyPem: string; readonly publicKeyPem: string } | undefined

/** The process's managed-identity signing key, made at first use. @internal */
export const signingKey = (): { readonly privateKeyPem: string; readonly publicKeyPem: string } => {
  if (keyPair === undefined) {
    const { privateKey, publicKey } = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
    keyPair = {
      privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString()
    }
  }
  return keyPair
}

/** The issuer of managed-identity tokens for a tenant. @internal */
export const issuerOf = (tenant: string): string => `https://login.microsoftonline.com/${tenant}/v2.0`

/** What the handler needs from the authority. @internal */
export interface Context {
  readonly settings: Settings
  readonly nowMillis: number
  readonly nextSequence: () => number
  readonly recordIssued: (token: IssuedToken) => Effect.Effect<void>
}

type Kind = "Imds" | "AzureArc" | "ServiceFabric" | "AppService" | "MachineLearning" | "CloudShell"

const kindOf = (method: string, path: string, version: string | null): Kind | undefined => {
  if (method === "POST") return "CloudShell"
  if (path === TOKEN_PATH) {
    if (version === "2018-02-01") return "Imds"
    if (version === "2019-11-01" || version === "2020-06-01") return "AzureArc"
    if (version === "2019-07-01-preview") return "ServiceFabric"
    return undefined
  }
  if (version === "2019-08-01") return "AppService"
  if (version === "2017-09-01") return "MachineLearning"
  return undefined
}

/** Arc keys written and not yet used, by path. */
const arcKeys = new Map<string, string>()

const identities = (settings: Settings): ReadonlyArray<ManagedIdentityAccount> =>
  settings.managedIdentity?.userAssigned ?? []
const systemAssigned = (settings: Settings): ManagedIdentityAccount =>
  settings.managedIdentity?.systemAssigned ?? DEFAULT_SYSTEM_ASSIGNED

/** The identity a request names, `undefined` when none matches. */
const lookup = (
  settings: Settings,
  by: { readonly clientId?: string | null; readonly objectId?: string | null; readonly resourceId?: string | null }
): ManagedIdentityAccount | undefined => {
  const all = [systemAssigned(settings), ...identities(settings)]
  if (by.clientId) return all.find((i) => i.clientId === by.clientId)
  if (by.objectId) return all.find((i) => i.objectId === by.objectId)
  if (by.resourceId) return all.find((i) => i.resourceId?.toLowerCase() === by.resourceId?.toLowerCase())
  return systemAssigned(settings)
}

const issue = (ctx: Context, kind: Kind, identity: ManagedIdentityAccount, resource: string) =>
  Effect.gen(function*() {
    const mi = ctx.settings.managedIdentity
    const tenant = mi?.tenantId ?? DEFAULT_MI_TENANT
    const expiresIn = mi?.expiresIn ?? 86399
    const now = Math.floor(ctx.nowMillis / 1000)
    const sequence = ctx.nextSequence()
    const key = yield* Effect.promise(() => importPKCS8(signingKey().privateKeyPem, "RS256"))
    const accessToken = yield* Effect.promise(() =>
      new SignJWT({
        aud: resource,
        iss: issuerOf(tenant),
        sub: identity.objectId,
        oid: identity.objectId,
        azp: identity.clientId,
        appid: identity.clientId,
        tid: tenant,
        idtyp: "app",
        uti: `mi-${sequence}`,
        ...(identity.resourceId === undefined ? {} : { xms_mirid: identity.resourceId })
      })
        .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "test-authority-mi-key" })
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + expiresIn)
        .sign(key)
    )
    yield* ctx.recordIssued({
      accessToken,
      sequence,
      grantType: `managed_identity:${kind}`,
      clientId: identity.clientId,
      tenant,
      scopes: [resource],
      expiresIn
    })
    return { accessToken, expiresIn, expiresOn: now + expiresIn, now }
  })

const imdsError = (status: number, description: string) =>
  json(status, { error: "invalid_request", error_description: description })

/** One managed-identity request as the per-source handlers below see it. */
interface MiRequest {
  readonly headers: Readonly<Record<string, string>>
  /** The query string (the identity selectors). */
  readonly query: URLSearchParams
  /** From the query, or the form for Cloud Shell. */
  readonly resource: string | null | undefined
  readonly ctx: Context
}

/**
 * IMDS and Cloud Shell: `Metadata: true` required, the identity named by `client_id`,
 * `object_id` or `msi_res_id`, and every number of the answer a string.
 */
const imds = (kind: "Imds" | "CloudShell", { ctx, headers, query, resource }: MiRequest) => {
  // IMDS answers: https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#error-handling
  if ((headers.metadata ?? "").toLowerCase() !== "true")
    return Effect.succeed(imdsError(400, "Required metadata header not specified"))
  if (!resource) return Effect.succeed(imdsError(400, "Required audience parameter not specified"))
  const identity = lookup(ctx.settings, {
    clientId: query.get("client_id"),
    objectId: query.get("object_id"),
    resourceId: query.get("msi_res_id")
  })
  if (identity === undefined) return Effect.succeed(imdsError(400, "Identity not found"))
  return Effect.map(issue(ctx, kind, identity, resource), (t) =>
    json(200, {
      access_token: t.accessToken,
      refresh_token: "",
      client_id: identity.clientId,
      expires_in: String(t.expiresIn),
      expires_on: String(t.expiresOn),
      ext_expires_in: String(t.expiresIn),
      not_before: String(t.now),
      resource,
      token_type: "Bearer"
    }))
}

/** The identity an App Service (`mi_res_id`) or Azure ML (`clientid`) request names. */
const appServiceIdentity = (kind: "AppService" | "MachineLearning", { ctx, query }: MiRequest) =>
  kind === "AppService"
    ? lookup(ctx.settings, {
      clientId: query.get("client_id"),
      objectId: query.get("object_id"),
      resourceId: query.get("mi_res_id")
    })
    : lookup(ctx.settings, { clientId: query.get("clientid") })

/**
 * App Service and Azure ML: the shared secret in `X-IDENTITY-HEADER` (App Service) or
 * `secret` (Azure ML), and `expires_on` in the answer.
 */
const appService = (kind: "AppService" | "MachineLearning", request: MiRequest) => {
  const { ctx, headers, resource } = request
  const mi = ctx.settings.managedIdentity
  const expected = kind === "AppService"
    ? mi?.identityHeader ?? DEFAULT_IDENTITY_HEADER
    : mi?.msiSecret ?? DEFAULT_MSI_SECRET
  const given = kind === "AppService" ? headers["x-identity-header"] : headers.secret
  if (given !== expected)
    return Effect.succeed(
      json(401, { statusCode: 401, message: "Unauthorized: the request's secret header is missing or wrong." })
    )
  if (!resource)
    return Effect.succeed(json(400, { statusCode: 400, message: "The resource parameter is required." }))
  const identity = appServiceIdentity(kind, request)
  if (identity === undefined) {
    return Effect.succeed(json(400, {
      statusCode: 400,
      message: "No Managed Identity found for specified ClientId/ResourceId/PrincipalId.",
      correlationId: crypto.randomUUID()
    }))
  }
  return Effect.map(issue(ctx, kind, identity, resource), (t) =>
    json(200, {
      access_token: t.accessToken,
      expires_on: String(t.expiresOn),
      resource,
      token_type: "Bearer",
      client_id: identity.clientId
    }))
}

/** Service Fabric: the secret in `secret`, errors in its own `{ error: { code, message } }` shape. */
const serviceFabric = ({ ctx, headers, resource }: MiRequest) => {
  // error shape: https://learn.microsoft.com/azure/service-fabric/how-to-managed-identity-service-fabric-app-code#error-handling
  const sfError = (status: number, code: string, message: string) =>
    json(status, { error: { correlationId: crypto.randomUUID(), code, message } })
  if (headers.secret !== (ctx.settings.managedIdentity?.identityHeader ?? DEFAULT_IDENTITY_HEADER)) {
    return Effect.succeed(sfError(401, "SecretHeaderNotFound", "Secret is not found in the request headers."))
  }
  if (!resource)
    return Effect.succeed(sfError(400, "ArgumentNullOrEmpty", "The parameter resource cannot be null or empty."))
  return Effect.map(
    issue(ctx, "ServiceFabric", systemAssigned(ctx.settings), resource),
    (t) => json(200, { token_type: "Bearer", access_token: t.accessToken, expires_on: t.expiresOn, resource })
  )
}

/**
 * Answers a managed-identity request; `undefined` when the path is not one of them. @internal
 */
export const route = (
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  form: Readonly<Record<string, string>>,
  ctx: Context
): Effect.Effect<OutgoingResponse> | undefined => {
  if (!isManagedIdentityRequest(method, url.pathname, headers)) return undefined
  const query = url.searchParams
  const kind = kindOf(method, url.pathname, query.get("api-version"))
  if (kind === undefined) return Effect.succeed(imdsError(400, "Invalid or missing api-version"))
  const request: MiRequest = {
    headers,
    query,
    resource: kind === "CloudShell" ? form.resource : query.get("resource"),
    ctx
  }
  switch (kind) {
    case "Imds":
    case "CloudShell":
      return imds(kind, request)
    case "AzureArc":
      return arc(headers, ctx, request.resource)
    case "AppService":
    case "MachineLearning":
      return appService(kind, request)
    case "ServiceFabric":
      return serviceFabric(request)
  }
}

/**
 * Azure Arc: without `Authorization`, a fresh key is written to `arcKeyDirectory` and the
 * answer is 401 with `WWW-Authenticate: Basic realm=<its path>`; with the key, a token
 * (https://learn.microsoft.com/azure/azure-arc/servers/managed-identity-authentication).
 */
const arc = (headers: Readonly<Record<string, string>>, ctx: Context, resource: string | null | undefined) =>
  Effect.gen(function*() {
    if ((headers.metadata ?? "").toLowerCase() !== "true")
      return imdsError(400, "Required metadata header not specified")
    const directory = ctx.settings.managedIdentity?.arcKeyDirectory
    if (directory === undefined) return imdsError(400, "Azure Arc is not configured on this test authority")
    const authorization = headers.authorization
    if (authorization === undefined) {
      const path = Path.join(directory, `${crypto.randomUUID()}.key`)
      const secret = Crypto.randomBytes(32).toString("hex")
      yield* Effect.promise(() => Fs.writeFile(path, secret, { mode: 0o600 }))
      arcKeys.set(path, secret)
      return { status: 401, headers: { "www-authenticate": `Basic realm=${path}`, "content-length": "0" }, body: "" }
    }
    const presented = authorization.startsWith("Basic ") ? authorization.slice("Basic ".length) : ""
    const match = [...arcKeys].find(([, secret]) => secret === presented)
    if (match === undefined)
      return json(401, { error: "unauthorized_client", error_description: "The key is not valid." })
    arcKeys.delete(match[0])
    yield* Effect.promise(() => Fs.rm(match[0], { force: true }))
    if (!resource) return imdsError(400, "Required audience parameter not specified")
    const t = yield* issue(ctx, "AzureArc", systemAssigned(ctx.settings), resource)
    return json(200, {
      access_token: t.accessToken,
      expires_in: String(t.expiresIn),
      expires_on: String(t.expiresOn),
      not_before: String(t.now),
      resource,
      token_type: "Bearer"
    })
  })
