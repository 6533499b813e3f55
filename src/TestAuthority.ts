/**
 * A fake Microsoft Entra ID for tests: it issues tokens, records every request it receives,
 * and can be told to answer slowly, with OAuth errors, with 5xx and `Retry-After`, or with
 * malformed bodies.
 *
 * Use it in-process as an `HttpClient` layer (`layerHttpClient`, time driven by `TestClock`),
 * or over real HTTP on 127.0.0.1 (`serve` plus `layerHttpClientVia`, which sends requests
 * meant for `https://login.microsoftonline.com/...` to the local server instead).
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
 * import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
 * import * as TestAuthority from "effect-msal/TestAuthority"
 *
 * const TestLive = ConfidentialClient.layer({ clientId: "my-app", authority: "https://login.microsoftonline.com/contoso" }).pipe(
 *   Layer.provide(CredentialSigner.layer(ClientCredential.secret(Redacted.make("s3cret")))),
 *   Layer.provide(TokenCache.layerMemory()),
 *   Layer.provide(TestAuthority.layerHttpClient),
 *   Layer.provideMerge(TestAuthority.layer({ refreshIn: 1800 }))
 * )
 * ```
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import type * as Scope from "effect/Scope"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "./internal/testAuthority/index.js"
import * as internalMi from "./internal/testAuthority/managedIdentity.js"
import * as internalUsers from "./internal/testAuthority/users.js"

/**
 * How the authority behaves unless a scripted response says otherwise.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  /** `expires_in` of issued tokens, in seconds. Default 3599. */
  readonly expiresIn: number
  /** `ext_expires_in`; defaults to `expiresIn`. */
  readonly extExpiresIn?: number | undefined
  /** `refresh_in`, sent only when set. */
  readonly refreshIn?: number | undefined
  /** How long every answer takes. Default zero. */
  readonly latency: Duration.DurationInput
  /**
   * Registered clients. When set, unknown client ids are rejected, and a client that declares
   * credentials (a secret, certificates, assertions, federated credentials) is accepted only
   * with one of them; when absent, any client id with a non-empty secret or an assertion is
   * accepted.
   */
  readonly clients?: Readonly<Record<string, RegisteredClient>> | undefined
  /** The users who can sign in (authorize, password, on-behalf-of). Default `defaultUsers`. */
  readonly users?: ReadonlyArray<TestUser> | undefined
  /**
   * Claims merged last into every ID token, to make it fail a check (another `aud`, `iss`,
   * `nonce`, an old `auth_time`, …); a claim set to `undefined` is left out.
   */
  readonly idTokenClaims?: Readonly<Record<string, unknown>> | undefined
  /** Answer every refresh with a new refresh token, as Entra does. Default true. */
  readonly rotateRefreshTokens?: boolean | undefined
  /**
   * Clients of the family of client ids (FOCI): their answers carry `foci: "1"` and each
   * may redeem the others' refresh tokens. Default none.
   */
  readonly familyClients?: ReadonlyArray<string> | undefined
  /** Return `client_info` when asked, as Entra does; `false` answers like AD FS. Default true. */
  readonly clientInfo?: boolean | undefined
  /** Hosts that instance discovery rejects with `invalid_instance` (HTTP 400). Default none. */
  readonly invalidInstances?: ReadonlyArray<string> | undefined
  /**
   * The alias groups of instance discovery's `metadata`. Default: the public, China and US
   * Government clouds; a host in no group is answered as a group of its own.
   */
  readonly aliasGroups?: ReadonlyArray<AliasGroup> | undefined
  /**
   * The `issuer` of every OpenID Connect discovery document and ID token, instead of the one
   * the real service writes (`{tenantid}` stands for the token's `tid`).
   */
  readonly issuer?: string | undefined
  /**
   * Tenant ids by tenant name, advertised in discovery documents' endpoints. Default, as
   * Entra: a domain name (with a dot) is answered with the GUID of the tenant whose users it
   * names (else a stable GUID derived from it); other names as they are.
   */
  readonly tenantIds?: Readonly<Record<string, string>> | undefined
  /**
   * Hosts that are custom URL domains of an External ID (CIAM) tenant: their discovery
   * documents and ID tokens name the tenant's `https://{tid}.ciamlogin.com/{tid}/v2.0` issuer,
   * as Entra does. Default none.
   */
  readonly ciamCustomDomains?: ReadonlyArray<string> | undefined
  /**
   * The Azure region the instance metadata service (`GET /metadata/instance/compute`)
   * answers. Absent: IMDS is unreachable (the connection breaks).
   */
  readonly imdsLocation?: string | undefined
  /**
   * Scripted answers for GET requests, by `host/path` (`login.microsoftonline.com/common/discovery/instance`)
   * or by path alone; they replace the built-in discovery and IMDS answers.
   */
  readonly getResponses?: Readonly<Record<string, ScriptedResponse>> | undefined
  /** Hosts whose every request fails with a broken connection (for example a regional host). */
  readonly unreachableHosts?: ReadonlyArray<string> | undefined
  /** The managed identities the authority's managed-identity endpoints know. */
  readonly managedIdentity?: ManagedIdentitySettings | undefined
}

/**
 * A managed identity of the test authority's managed-identity endpoints.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManagedIdentityAccount {
  readonly clientId: string
  /** The `sub` and `oid` of its tokens. */
  readonly objectId: string
  readonly resourceId?: string | undefined
}

/**
 * How the managed-identity endpoints behave. They answer as each source does: IMDS
 * (`GET /metadata/identity/oauth2/token`, api-version 2018-02-01), Azure Arc (same path,
 * 2019-11-01 or 2020-06-01, with its key-file challenge), Service Fabric (same path,
 * 2019-07-01-preview, `secret` header), App Service (`GET /msi/token`, 2019-08-01,
 * `X-IDENTITY-HEADER`), Azure ML (`GET /msi/token`, 2017-09-01, `secret` header) and Cloud
 * Shell (`POST /oauth2/token` with `Metadata: true`). Scripted answers (`enqueue`) apply to
 * them as to token requests. Tokens are JWTs signed with `managedIdentityPublicKey()`'s key,
 * issued by `managedIdentityIssuer(tenantId)` about the identity's object id.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManagedIdentitySettings {
  /** The `IDENTITY_HEADER` App Service and Service Fabric expect. Default `test-identity-header`. */
  readonly identityHeader?: string | undefined
  /** The `MSI_SECRET` Azure ML expects. Default `test-msi-secret`. */
  readonly msiSecret?: string | undefined
  /** Where Azure Arc writes its key files; Arc answers 400 without it. */
  readonly arcKeyDirectory?: string | undefined
  /** The tenant of the tokens. Default `72f988bf-86f1-41af-91ab-2d7cd011db47`. */
  readonly tenantId?: string | undefined
  /** Lifetime of the tokens, in seconds. Default 86399, as IMDS. */
  readonly expiresIn?: number | undefined
  /** The system-assigned identity. */
  readonly systemAssigned?: ManagedIdentityAccount | undefined
  /** User-assigned identities, found by client id, object id or resource id. */
  readonly userAssigned?: ReadonlyArray<ManagedIdentityAccount> | undefined
}

/**
 * An app registration of the test authority. A signed client assertion is verified as Entra
 * does: its signature against the certificate its `x5t`/`x5t#S256` names (`x5c[0]`, when
 * sent, must be that certificate), `aud` the token endpoint the request went to (or its
 * central host for a regional request), `iss` = `sub` = the client id, `exp` and `nbf` with
 * five minutes of clock skew. Failures answer `invalid_client` with Entra's codes
 * (AADSTS700027 signature or key not found, AADSTS700024 time range, AADSTS700023 audience,
 * AADSTS700021 issuer or subject, AADSTS50027 malformed).
 *
 * @since 0.1.0
 * @category models
 */
export interface RegisteredClient {
  /** The client secret; another secret is refused (AADSTS7000215). */
  readonly secret?: string | undefined
  /** PEM certificates uploaded for the app; signed assertions must verify against one. */
  readonly certificates?: ReadonlyArray<string> | undefined
  /** Assertions accepted exactly as they are, without verification. */
  readonly assertions?: ReadonlyArray<string> | undefined
  /** Trusted external issuers (workload identity federation). */
  readonly federatedCredentials?: ReadonlyArray<FederatedCredential> | undefined
}

/**
 * A federated identity credential of an app registration: a token from `issuer` about
 * `subject`, addressed to `audience` and signed by one of `keys`, is accepted as the
 * client's assertion. Mismatches answer `invalid_client` with AADSTS700211 (issuer),
 * AADSTS700213 (subject), AADSTS700212 (audience), AADSTS700024 (time range) or AADSTS700027
 * (signature).
 *
 * @since 0.1.0
 * @category models
 */
export interface FederatedCredential {
  /** The `iss` of accepted tokens. */
  readonly issuer: string
  /** The `sub` of accepted tokens. */
  readonly subject: string
  /** The `aud` accepted tokens must carry. Default `api://AzureADTokenExchange`. */
  readonly audience?: string | undefined
  /** The issuer's signing keys: PEM public keys or certificates. */
  readonly keys: ReadonlyArray<string>
}

/**
 * A group of hosts that are aliases of one another, as instance discovery describes them.
 *
 * @since 0.1.0
 * @category models
 */
export interface AliasGroup {
  readonly preferredNetwork: string
  readonly preferredCache: string
  readonly aliases: ReadonlyArray<string>
}

/**
 * A user of the test authority's directory.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestUser {
  /** The sign-in name (`preferred_username`). */
  readonly username: string
  /** Needed for the password grant only. */
  readonly password?: string | undefined
  readonly displayName?: string | undefined
  /** The user's object id (`oid`, and `uid` of `client_info`). */
  readonly objectId: string
  /** The user's home tenant id (`tid`, and `utid` of `client_info`). */
  readonly tenantId: string
  /** A federated account: user-realm discovery says so and the password grant refuses it. */
  readonly federated?: boolean | undefined
}

/**
 * How a sign-in at the authorize endpoint goes, for `authorize`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthorizeOptions {
  /** Who signs in. Default: the user named by `login_hint`, else the first user. */
  readonly user?: string | undefined
  /** Instead of a code, redirect with this OAuth error (for example `access_denied`). */
  readonly error?: string | undefined
  readonly errorDescription?: string | undefined
}

/**
 * The access token a front end received for a user, as an API would receive it: the
 * `userAssertion` of an on-behalf-of call.
 *
 * @since 0.1.0
 * @category models
 */
export interface UserAssertionOptions {
  /** The client id of the API the token is for (its `aud`). */
  readonly audience: string
  /** Default: the first user. */
  readonly user?: string | undefined
  /** Seconds from now until it expires. Default 3600. */
  readonly expiresIn?: number | undefined
  /** Seconds from now until it becomes valid (`nbf`). Default 0. */
  readonly notBefore?: number | undefined
}

/**
 * A request as the authority received it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  readonly method: string
  readonly url: string
  readonly path: string
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
  /** The parsed form body (empty when the body is not a form). */
  readonly form: Readonly<Record<string, string>>
}

/**
 * The next answer of the token endpoint, whatever the request. Objects are sent as JSON,
 * strings as they are (for HTML pages or truncated JSON).
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptedResponse {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Answer after this long instead of the configured latency. */
  readonly delay?: Duration.DurationInput | undefined
  /**
   * Break the connection after the request was sent (`"disconnect"`), or after the status
   * line and half of the body (`"disconnectDuringBody"`), or refuse it before anything is
   * sent (`"refuse"`: in-process only; a served authority can only drop the connection).
   */
  readonly fault?: Fault | undefined
}

/**
 * A transport failure the authority can simulate.
 *
 * @since 0.1.0
 * @category models
 */
export type Fault = "disconnect" | "disconnectDuringBody" | "refuse"

/**
 * A token the authority issued.
 *
 * @since 0.1.0
 * @category models
 */
export interface IssuedToken {
  readonly accessToken: string
  /** 1 for the first token issued, then 2, … */
  readonly sequence: number
  readonly grantType: string
  readonly clientId: string
  readonly tenant: string
  readonly scopes: ReadonlyArray<string>
  readonly expiresIn: number
  readonly claims?: string | undefined
  /** The user the token was issued for (user grants). */
  readonly username?: string | undefined
}

/**
 * An HTTP request handed to the authority.
 *
 * @since 0.1.0
 * @category models
 */
export interface IncomingRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * The authority's answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface OutgoingResponse {
  /** Break the connection instead of answering normally. */
  readonly fault?: Fault | undefined
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * A running authority server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Server {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly handle: (request: IncomingRequest) => Effect.Effect<OutgoingResponse>
  /** Every request received, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** The POSTs to a token endpoint, oldest first. */
  readonly tokenRequests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Every token issued, oldest first. */
  readonly issued: Effect.Effect<ReadonlyArray<IssuedToken>>
  readonly configure: (settings: Partial<Settings>) => Effect.Effect<void>
  /** Queues answers for the next token requests, in order. */
  readonly enqueue: (...responses: ReadonlyArray<ScriptedResponse>) => Effect.Effect<void>
  /** Forgets recorded requests, issued tokens and queued answers. */
  readonly reset: Effect.Effect<void>
  /**
   * Signs a user in at an authorize URL (what `initiateAuthCodeFlow` returns) without a
   * browser, and returns the URL the browser would be redirected to: `redirect_uri` with
   * `code`, `state` and `client_info`, or with `error`. The served authority shows the same
   * sign-in as an HTML page at `GET …/oauth2/v2.0/authorize`.
   */
  readonly authorize: (authUri: string, options?: AuthorizeOptions) => Effect.Effect<string>
  /** A user's access token for an API: the incoming assertion of an on-behalf-of call. */
  readonly userAssertion: (options: UserAssertionOptions) => Effect.Effect<string>
}

/**
 * The users of the directory unless `Settings.users` says otherwise: two managed users of
 * one tenant and a federated one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultUsers: ReadonlyArray<TestUser> = internalUsers.DEFAULT_USERS

/**
 * @since 0.1.0
 * @category tags
 */
export class TestAuthority extends Context.Tag("effect-msal/TestAuthority")<TestAuthority, Service>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: (settings?: Partial<Settings>) => Effect.Effect<Service> = internal.make

/**
 * A fresh authority.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (settings?: Partial<Settings>): Layer.Layer<TestAuthority> =>
  Layer.effect(TestAuthority, make(settings))

/**
 * An `HttpClient` answered in-process by the authority, whatever the URL's host. Latency
 * uses `Effect.sleep`, so `TestClock` drives it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClient: Layer.Layer<HttpClient.HttpClient, never, TestAuthority> = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(TestAuthority, internal.httpClientFor)
)

/**
 * Serves the authority over HTTP on 127.0.0.1 (a free port unless one is given) until the
 * scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (
  options?: { readonly port?: number | undefined }
): Effect.Effect<Server, never, TestAuthority | Scope.Scope> =>
  Effect.flatMap(TestAuthority, (authority) => internal.serve(authority, options))

/**
 * A real `HttpClient` (fetch) that sends every request to `baseUrl` instead of its own host,
 * keeping the path and query: point it at a served authority to exercise real HTTP with
 * production authority URLs.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClientVia: (baseUrl: string) => Layer.Layer<HttpClient.HttpClient> = internal.layerHttpClientVia

/**
 * The public key (PEM) that signs the test authority's managed-identity tokens, for an app
 * registration's federated credential (`keys`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const managedIdentityPublicKey = (): string => internalMi.signingKey().publicKeyPem

/**
 * The issuer of the test authority's managed-identity tokens in a tenant (default tenant
 * `72f988bf-86f1-41af-91ab-2d7cd011db47`): `https://login.microsoftonline.com/<tenant>/v2.0`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const managedIdentityIssuer = (tenantId: string = internalMi.DEFAULT_MI_TENANT): string =>
  internalMi.issuerOf(tenantId)
