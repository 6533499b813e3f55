/**
 * Managed-identity sources: which one the environment names, and the request each expects.
 * Pure functions only (no I/O, no services): detection takes the environment as a record,
 * request builders return plain data.
 *
 * Facts and where they come from (MSAL sources read: msal-node 3.8.1
 * `lib/msal-node/src/client/ManagedIdentitySources/*.ts` and `utils/Constants.ts`; MSAL
 * Python `msal/managed_identity.py`):
 * - detection order Service Fabric, App Service, Azure ML, Cloud Shell, Azure Arc, IMDS:
 *   msal-node `ManagedIdentityClient.ts` (`selectManagedIdentitySource`);
 * - empty variables count as absent: msal-node `tryCreate` of each source tests truthiness.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { InvalidRequest } from "../../MsalError.js"

/** The managed identity a client asks for. @internal */
export type Identity =
  | { readonly _tag: "SystemAssigned" }
  | { readonly _tag: "ClientId"; readonly id: string }
  | { readonly _tag: "ObjectId"; readonly id: string }
  | { readonly _tag: "ResourceId"; readonly id: string }

/** The names of the sources, as msal-node's `ManagedIdentitySourceNames`. @internal */
export type SourceName = "Imds" | "AppService" | "AzureArc" | "CloudShell" | "ServiceFabric" | "MachineLearning"

/** A detected source: where to ask, and the secret the platform gave the process. @internal */
export interface Source {
  readonly name: SourceName
  /** The token endpoint, without a query string. */
  readonly endpoint: string
  /** `IDENTITY_HEADER` (App Service, Service Fabric) or `MSI_SECRET` (Azure ML). */
  readonly secret?: Redacted.Redacted<string> | undefined
  /** `IDENTITY_SERVER_THUMBPRINT` (Service Fabric). */
  readonly serverThumbprint?: string | undefined
  /** `DEFAULT_IDENTITY_CLIENT_ID` (Azure ML's system-assigned identity). */
  readonly defaultClientId?: string | undefined
}

/** The environment variables detection reads. @internal */
export const ENVIRONMENT_VARIABLES = [
  "IDENTITY_ENDPOINT",
  "IDENTITY_HEADER",
  "IDENTITY_SERVER_THUMBPRINT",
  "IMDS_ENDPOINT",
  "MSI_ENDPOINT",
  "MSI_SECRET",
  "AZURE_POD_IDENTITY_AUTHORITY_HOST",
  "DEFAULT_IDENTITY_CLIENT_ID"
] as const

/** @internal */
export type Environment = Readonly<Partial<Record<(typeof ENVIRONMENT_VARIABLES)[number], string | undefined>>>

/** The cache's client id of a system-assigned identity (msal-node `DEFAULT_MANAGED_IDENTITY_ID`, `utils/Constants.ts`). @internal */
export const SYSTEM_ASSIGNED_ID = "system_assigned_managed_identity"
/** The realm of managed-identity tokens in the cache (msal-node `MANAGED_IDENTITY_DEFAULT_TENANT`). @internal */
export const CACHE_REALM = "managed_identity"
/** The environment of managed-identity tokens in the cache (msal-node `DEFAULT_AUTHORITY_FOR_MANAGED_IDENTITY`). @internal */
export const CACHE_ENVIRONMENT = "login.microsoftonline.com"

/** IMDS: msal-node `Imds.ts` (`IMDS_TOKEN_PATH`, `DEFAULT_IMDS_ENDPOINT`, `IMDS_API_VERSION`). @internal */
export const IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token"
/** @internal */
export const DEFAULT_IMDS_ENDPOINT = `http://169.254.169.254${IMDS_TOKEN_PATH}`
/** Azure Arc without environment variables but with the agent installed: msal-node `AzureArc.ts`. @internal */
export const DEFAULT_ARC_ENDPOINT = "http://127.0.0.1:40342/metadata/identity/oauth2/token"

/** The api-version of each source. @internal */
export const API_VERSIONS: Readonly<Record<SourceName, string | undefined>> = {
  Imds: "2018-02-01", // msal-node Imds.ts IMDS_API_VERSION; MSAL Python _obtain_token_on_azure_vm
  AppService: "2019-08-01", // msal-node AppService.ts; MSAL Python _obtain_token_on_app_service
  AzureArc: "2019-11-01", // msal-node AzureArc.ts ARC_API_VERSION (MSAL Python sends 2020-06-01)
  ServiceFabric: "2019-07-01-preview", // msal-node ServiceFabric.ts; MSAL Python _obtain_token_on_service_fabric
  MachineLearning: "2017-09-01", // msal-node MachineLearning.ts; MSAL Python _obtain_token_on_machine_learning
  CloudShell: undefined // msal-node CloudShell.ts sends none (a POST with `resource` in the body)
}

const present = (value: string | undefined): value is string => value !== undefined && value.length > 0

const invalidUrl = (variable: string) =>
  new InvalidRequest({
    field: variable,
    description:
      `the environment variable ${variable} is not an http(s) URL, so its managed identity source is unusable`
  })

/** An endpoint from the environment: an absolute http(s) URL (msal-node `getValidatedEnvVariableUrlString`). */
const endpointOf = (variable: string, value: string): Either.Either<string, InvalidRequest> => {
  try {
    const url = new URL(value)
    if (url.protocol !== "http:" && url.protocol !== "https:") return Either.left(invalidUrl(variable))
    url.search = ""
    url.hash = ""
    return Either.right(url.href)
  } catch {
    return Either.left(invalidUrl(variable))
  }
}

/**
 * The source the environment names. `arcAgentInstalled` says whether the Azure Arc agent's
 * `himds` executable is present (msal-node `AzureArc.ts` `AZURE_ARC_FILE_DETECTION`; MSAL
 * Python `_get_arc_endpoint`), which makes Azure Arc the source without its variables.
 * @internal
 */
export const detect = (env: Environment, arcAgentInstalled: boolean): Either.Either<Source, InvalidRequest> => {
  const { IDENTITY_ENDPOINT, IDENTITY_HEADER, IDENTITY_SERVER_THUMBPRINT, IMDS_ENDPOINT, MSI_ENDPOINT, MSI_SECRET } =
    env
  if (present(IDENTITY_ENDPOINT) && present(IDENTITY_HEADER) && present(IDENTITY_SERVER_THUMBPRINT)) {
    return Either.map(endpointOf("IDENTITY_ENDPOINT", IDENTITY_ENDPOINT), (endpoint) => ({
      name: "ServiceFabric" as const,
      endpoint,
      secret: Redacted.make(IDENTITY_HEADER),
      serverThumbprint: IDENTITY_SERVER_THUMBPRINT
    }))
  }
  if (present(IDENTITY_ENDPOINT) && present(IDENTITY_HEADER)) {
    return Either.map(endpointOf("IDENTITY_ENDPOINT", IDENTITY_ENDPOINT), (endpoint) => ({
      name: "AppService" as const,
      endpoint,
      secret: Redacted.make(IDENTITY_HEADER)
    }))
  }
  if (present(MSI_ENDPOINT) && present(MSI_SECRET)) {
    // msal-node MachineLearning.ts (MSI_ENDPOINT + MSI_SECRET); MSAL Python _obtain_token
    return Either.map(endpointOf("MSI_ENDPOINT", MSI_ENDPOINT), (endpoint) => ({
      name: "MachineLearning" as const,
      endpoint,
      secret: Redacted.make(MSI_SECRET),
      ...(present(env.DEFAULT_IDENTITY_CLIENT_ID) ? { defaultClientId: env.DEFAULT_IDENTITY_CLIENT_ID } : {})
    }))
  }
  if (present(MSI_ENDPOINT)) {
    return Either.map(
      endpointOf("MSI_ENDPOINT", MSI_ENDPOINT),
      (endpoint) => ({ name: "CloudShell" as const, endpoint })
    )
  }
  if (present(IDENTITY_ENDPOINT) && present(IMDS_ENDPOINT)) {
    return Either.flatMap(
      endpointOf("IMDS_ENDPOINT", IMDS_ENDPOINT),
      () =>
        Either.map(endpointOf("IDENTITY_ENDPOINT", IDENTITY_ENDPOINT), (endpoint) => ({
          name: "AzureArc" as const,
          endpoint: toLoopbackAddress(endpoint)
        }))
    )
  }
  if (arcAgentInstalled) return Either.right({ name: "AzureArc", endpoint: DEFAULT_ARC_ENDPOINT })
  const pod = env.AZURE_POD_IDENTITY_AUTHORITY_HOST
  if (present(pod)) {
    // msal-node Imds.ts appends the token path to the host; MSAL Python's test of pod identity
    // shows trailing slashes of the host dropped first
    return Either.map(
      endpointOf("AZURE_POD_IDENTITY_AUTHORITY_HOST", `${pod.replace(/\/+$/, "")}${IMDS_TOKEN_PATH}`),
      (endpoint) => ({ name: "Imds" as const, endpoint })
    )
  }
  return Either.right({ name: "Imds", endpoint: DEFAULT_IMDS_ENDPOINT })
}

/** msal-node `AzureArc.ts` `createRequest`: `localhost` is replaced by `127.0.0.1`. */
const toLoopbackAddress = (endpoint: string): string => {
  const url = new URL(endpoint)
  if (url.hostname.toLowerCase() === "localhost") url.hostname = "127.0.0.1"
  return url.href
}

/**
 * Whether the source can get a token for the identity; a typed error when not:
 * Azure Arc and Cloud Shell have only a system-assigned identity (msal-node `AzureArc.ts`
 * `unableToCreateAzureArc`, `CloudShell.ts` `unableToCreateCloudShell`; MSAL Python raises for
 * Arc too); Azure ML takes a user-assigned identity by client id only (msal-node
 * `MachineLearning.ts`). Service Fabric's user-assigned identities are configured in the
 * cluster, and the id is sent anyway, as msal-node `ServiceFabric.ts` does.
 * @internal
 */
export const checkSupported = (source: Source, identity: Identity): Either.Either<void, InvalidRequest> => {
  const unsupported = (what: string) =>
    Either.left(
      new InvalidRequest({
        field: "managedIdentity",
        description: `the detected managed identity source ${source.name} ${what}`
      })
    )
  switch (source.name) {
    case "AzureArc":
    case "CloudShell":
      return identity._tag === "SystemAssigned" ? Either.void : unsupported("supports only a system-assigned identity")
    case "MachineLearning":
      return identity._tag === "SystemAssigned" || identity._tag === "ClientId"
        ? Either.void
        : unsupported("supports a user-assigned identity by client id only")
    default:
      return Either.void
  }
}

/** A request to a managed-identity endpoint, as plain data. @internal */
export interface SourceRequest {
  readonly method: "GET" | "POST"
  /** The endpoint with its query string. */
  readonly url: string
  /** Secret-bearing values are `Redacted` until the HTTP request is built. */
  readonly headers: Readonly<Record<string, string | Redacted.Redacted<string>>>
  /** A form body (Cloud Shell only). */
  readonly form?: ReadonlyArray<readonly [string, string]> | undefined
}

/** The parts of a request that vary by call. @internal */
export interface RequestInput {
  readonly resource: string
  readonly identity: Identity
  /** The SHA-256 (hex) of a cached token the caller was told is revoked. */
  readonly tokenSha256ToRefresh?: string | undefined
  /** Client capabilities, sent as `xms_cc` (msal-node `BaseManagedIdentitySource.ts`). */
  readonly clientCapabilities?: ReadonlyArray<string> | undefined
  /** Azure Arc's second request: the key file's content, sent as `Authorization: Basic`. */
  readonly arcKey?: Redacted.Redacted<string> | undefined
}

/**
 * The query name of a user-assigned id: `client_id`, `object_id`, and for a resource id
 * `msi_res_id` on IMDS but `mi_res_id` elsewhere (msal-node `BaseManagedIdentitySource.ts`
 * `ManagedIdentityUserAssignedIdQueryParameterNames`; MSAL Python `_types_mapping` and
 * `_obtain_token_on_app_service`).
 */
const idParameter = (source: SourceName, identity: Identity): ReadonlyArray<readonly [string, string]> => {
  switch (identity._tag) {
    case "SystemAssigned":
      return []
    case "ClientId":
      return [[source === "MachineLearning" ? "clientid" : "client_id", identity.id]]
    case "ObjectId":
      return [["object_id", identity.id]]
    case "ResourceId":
      return [[source === "Imds" ? "msi_res_id" : "mi_res_id", identity.id]]
  }
}

/**
 * The request for a token. Headers and parameters per source (msal-node
 * `ManagedIdentitySources/*.ts` `createRequest`, `utils/Constants.ts`):
 * IMDS and Arc `Metadata: true`; App Service `X-IDENTITY-HEADER`; Service Fabric `secret`;
 * Azure ML `Metadata: true` and `secret`, its client id as `clientid` (the 2017 API's name),
 * `DEFAULT_IDENTITY_CLIENT_ID` for the system-assigned identity; Cloud Shell a form POST of
 * `resource` with `Metadata: true`. `token_sha256_to_refresh` goes only to Service Fabric
 * (msal-node `ManagedIdentityApplication.ts`, sources supporting revocation:
 * `[SERVICE_FABRIC]`; MSAL Python's tests send it to Service Fabric and not to IMDS).
 * @internal
 */
export const buildRequest = (source: Source, input: RequestInput): SourceRequest => {
  const version = API_VERSIONS[source.name]
  const query: Array<readonly [string, string]> = []
  if (source.name !== "CloudShell") {
    if (version !== undefined) query.push(["api-version", version])
    query.push(["resource", input.resource])
    if (source.name === "MachineLearning" && input.identity._tag === "SystemAssigned") {
      if (source.defaultClientId !== undefined) query.push(["clientid", source.defaultClientId])
    } else if (source.name !== "AzureArc") {
      query.push(...idParameter(source.name, input.identity))
    }
    if (source.name === "ServiceFabric" && input.tokenSha256ToRefresh !== undefined) {
      query.push(["token_sha256_to_refresh", input.tokenSha256ToRefresh])
    }
  }
  if (input.clientCapabilities !== undefined && input.clientCapabilities.length > 0) {
    query.push(["xms_cc", input.clientCapabilities.join(",")])
  }
  const url = query.length === 0
    ? source.endpoint
    : `${source.endpoint}?${new URLSearchParams(query.map(([k, v]) => [k, v]))}`
  const secret = source.secret ?? Redacted.make("")
  switch (source.name) {
    case "Imds":
      return { method: "GET", url, headers: { Metadata: "true" } }
    case "AzureArc":
      return {
        method: "GET",
        url,
        headers: input.arcKey === undefined
          ? { Metadata: "true" }
          : { Metadata: "true", Authorization: Redacted.make(`Basic ${Redacted.value(input.arcKey)}`) }
      }
    case "AppService":
      return { method: "GET", url, headers: { "X-IDENTITY-HEADER": secret } }
    case "ServiceFabric":
      return { method: "GET", url, headers: { secret } }
    case "MachineLearning":
      return { method: "GET", url, headers: { Metadata: "true", secret } }
    case "CloudShell":
      return {
        method: "POST",
        url,
        headers: { Metadata: "true" },
        form: [["resource", input.resource]]
      }
  }
}

/** The header names whose values are secrets, lower-cased. @internal */
export const SECRET_HEADERS: ReadonlyArray<string> = ["x-identity-header", "secret", "authorization"]

/**
 * The resource of a request: a scope's `/.default` is dropped (msal-node
 * `ManagedIdentityApplication.ts` `acquireToken`). @internal
 */
export const resourceOf = (resource: string): string => resource.replace("/.default", "")

/** The client id managed-identity tokens are cached under (msal-node `ManagedIdentityId.ts`). @internal */
export const cacheClientId = (identity: Identity): string =>
  identity._tag === "SystemAssigned" ? SYSTEM_ASSIGNED_ID : identity.id

/** SHA-256 of a token, hex, as `token_sha256_to_refresh` carries it (msal-node `ManagedIdentityApplication.ts`). @internal */
export const tokenSha256 = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex")
