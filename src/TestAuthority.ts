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
 * import { Effect, Layer, Redacted } from "effect"
 * import { ClientCredential, ConfidentialClient, CredentialSigner, TestAuthority, TokenCache } from "effect-msal"
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
import { HttpClient } from "@effect/platform"
import type { Duration, Scope } from "effect"
import { Context, Effect, Layer } from "effect"
import * as internal from "./internal/testAuthority/index.js"

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
   * Registered clients. When set, unknown client ids are rejected and secrets are checked;
   * when absent, any client id with a non-empty secret or an assertion is accepted.
   */
  readonly clients?: Readonly<Record<string, { readonly secret?: string | undefined }>> | undefined
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
}

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
}

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
