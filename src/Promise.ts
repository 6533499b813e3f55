/**
 * The client for code that does not use Effect (`effect-msal/promise`): the same methods as
 * `ConfidentialClient.Service`, returning Promises. A rejection is the typed error itself —
 * an instance of one of the `MsalError` classes (`ServerError`, `NetworkError`, …), so
 * `instanceof` and `error._tag` work — never a wrapper. The runtime, the cache and the HTTP
 * client live inside; `dispose()` releases them (and stops background refreshes).
 *
 * @example
 * ```ts
 * import * as Msal from "effect-msal/promise"
 * import { MsalError, ClientCredential } from "effect-msal"
 *
 * const client = await Msal.make({
 *   clientId: "11111111-2222-3333-4444-555555555555",
 *   authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
 *   credential: ClientCredential.secret(process.env.CLIENT_SECRET ?? "")
 * })
 * try {
 *   const result = await client.acquireTokenForClient({ scopes: ["https://graph.microsoft.com/.default"] })
 * } catch (error) {
 *   if (error instanceof MsalError.ServerError) console.error(error.error, error.correlationId)
 * } finally {
 *   await client.dispose()
 * }
 * ```
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type * as Result from "./AuthenticationResult.js"
import type { ClientCredential } from "./ClientCredential.js"
import * as ConfidentialClient from "./ConfidentialClient.js"
import * as CredentialSigner from "./CredentialSigner.js"
import * as AzureIdentity from "./internal/azureIdentity.js"
import * as Logging from "./internal/logging.js"
import * as internal from "./internal/promise.js"
import { InvalidRequest } from "./MsalError.js"
import * as TokenCache from "./TokenCache.js"
import * as Transport from "./Transport.js"

/**
 * The part of `AbortSignal` a call needs (Azure's `AbortSignalLike` fits too).
 *
 * @since 0.1.0
 * @category models
 */
export interface SignalLike {
  readonly aborted: boolean
  addEventListener(type: "abort", listener: () => void): void
  removeEventListener(type: "abort", listener: () => void): void
}

/**
 * A token result as the Promise client returns it: the `AuthenticationResult` of the Effect
 * API with `accessToken` and `idToken` as plain strings (as msal-node returns them), ready for
 * an `Authorization: Bearer` header. Do not log it.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthenticationResult extends Omit<Result.AuthenticationResult, "accessToken" | "idToken"> {
  readonly accessToken: string
  readonly idToken?: string | undefined
}

/**
 * What a method's Promise holds: an `AuthenticationResult` with its tokens as strings, anything
 * else as the Effect API returns it.
 *
 * @since 0.1.0
 * @category models
 */
export type Settled<A> = A extends Result.AuthenticationResult ? AuthenticationResult : A

/**
 * The client's methods, each returning a Promise of what its Effect succeeds with (token
 * results with plain-string tokens).
 *
 * @since 0.1.0
 * @category models
 */
export type Methods = {
  readonly [K in keyof ConfidentialClient.Service]: ConfidentialClient.Service[K] extends
    (...args: infer Args) => Effect.Effect<infer A, infer _E, infer _R> ? (...args: Args) => Promise<Settled<A>> : never
}

/**
 * The shape of `@azure/core-auth`'s `AccessToken` (without depending on that package).
 *
 * @since 0.1.0
 * @category models
 */
export interface AccessToken {
  readonly token: string
  /** Epoch milliseconds. */
  readonly expiresOnTimestamp: number
  /** Epoch milliseconds: when the authority suggested a refresh. */
  readonly refreshAfterTimestamp?: number
  readonly tokenType?: "Bearer" | "pop"
}

/**
 * The shape of `@azure/core-auth`'s `TokenCredential`: pass it wherever an Azure SDK client
 * takes a credential (`new SecretClient(url, client.asTokenCredential())`), in place of
 * `ClientSecretCredential` or `ClientCertificateCredential`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenCredential {
  readonly getToken: (
    scopes: string | Array<string>,
    options?: {
      readonly abortSignal?: AbortSignal | SignalLike | undefined
      readonly requestOptions?: { readonly timeout?: number | undefined } | undefined
      readonly claims?: string | undefined
      readonly tenantId?: string | undefined
    }
  ) => Promise<AccessToken | null>
}

/**
 * A client with its own runtime.
 *
 * @since 0.1.0
 * @category models
 */
export interface Client extends Methods {
  /** The same methods, each call interrupted (rejecting with an `AbortError`) when `signal` aborts. */
  readonly withSignal: (signal: AbortSignal) => Methods
  /**
   * The client as an Azure SDK `TokenCredential`: `getToken` acquires an app token
   * (`acquireTokenForClient`, with this client's cache), honours `abortSignal`,
   * `requestOptions.timeout`, `claims` and `tenantId`, and rejects with "the client was
   * closed" after `dispose()`.
   */
  readonly asTokenCredential: () => TokenCredential
  /** Releases the runtime: background refreshes stop, and later calls reject ("the client was closed"). */
  readonly dispose: () => Promise<void>
}

/**
 * A log level, as `AZURE_LOG_LEVEL` names them, most severe first.
 *
 * @since 0.1.0
 * @category models
 */
export type LogLevel = "error" | "warning" | "info" | "verbose"

/**
 * Where the client's log lines go (like msal-node's `loggerOptions`). Without this option
 * the client writes nothing, unless `AZURE_LOG_LEVEL` is set (`error`, `warning`, `info`,
 * `verbose`), in which case lines at that level go to stderr, as the Azure SDKs do.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoggerOptions {
  /** The least severe level passed on. Default: `AZURE_LOG_LEVEL` when it is set, else `"info"`. */
  readonly level?: LogLevel | undefined
  /** Receives each line. Default: one line on stderr. A callback that throws is ignored. */
  readonly callback?: ((level: LogLevel, message: string) => void) | undefined
  /**
   * Allow personal data (user names, object ids) in log lines: sets the client's
   * `enablePiiLog` unless that is given. Default false.
   */
  readonly piiLoggingEnabled?: boolean | undefined
}

/**
 * Where the cache and the HTTP transport come from: an in-memory cache and
 * `Transport.layer()` (fetch through the proxy the environment names, if any) unless given;
 * and where log lines go.
 *
 * @since 0.1.0
 * @category models
 */
export interface Services {
  readonly cache?: Layer.Layer<TokenCache.TokenCache, unknown> | undefined
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient, unknown> | undefined
  readonly logger?: LoggerOptions | undefined
}

/**
 * The client's options, its credential and, optionally, its services.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends ConfidentialClient.Options, Services {
  readonly credential: ClientCredential
  readonly signer?: CredentialSigner.Options | undefined
}

const withServices = <E>(
  client: Layer.Layer<ConfidentialClient.ConfidentialClient, E, HttpClient.HttpClient | TokenCache.TokenCache>,
  services: Services | undefined
): Layer.Layer<ConfidentialClient.ConfidentialClient, unknown> =>
  client.pipe(
    Layer.provide(services?.cache ?? TokenCache.layerMemory()),
    Layer.provide(services?.httpClient ?? Transport.layer())
  )

/** The logger of a client: the option, else `AZURE_LOG_LEVEL` to stderr, else none. */
const loggerLayer = (options: LoggerOptions | undefined): Layer.Layer<never> => {
  const fromEnvironment = Logging.parseLevel(process.env[Logging.AZURE_LOG_LEVEL])
  if (options === undefined) {
    return Logging.layer(
      fromEnvironment === undefined ? undefined : { level: fromEnvironment, sink: Logging.stderrSink }
    )
  }
  return Logging.layer({
    level: Logging.parseLevel(options.level) ?? fromEnvironment ?? "info",
    sink: options.callback ?? Logging.stderrSink
  })
}

/**
 * A client over any layer that provides `ConfidentialClient`. The layer is built here: the
 * Promise rejects with its error (an `MsalError` instance, or an `Error` whose `cause` is the
 * `ConfigError`) and nothing is left running. Log lines go where `options.logger` says (by
 * default nowhere, unless `AZURE_LOG_LEVEL` is set).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromLayer = async (
  layer: Layer.Layer<ConfidentialClient.ConfidentialClient, unknown>,
  options?: { readonly logger?: LoggerOptions | undefined }
): Promise<Client> => {
  if (!Layer.isLayer(layer as unknown)) {
    throw new InvalidRequest({
      field: "layer",
      description: "Msal.fromLayer needs a Layer providing ConfidentialClient"
    })
  }
  const runtime = ManagedRuntime.make(Layer.provideMerge(layer, loggerLayer(options?.logger)))
  const exit = await runtime.runPromiseExit(
    Effect.all([ConfidentialClient.ConfidentialClient, Effect.runtime<never>()])
  )
  if (exit._tag === "Failure") {
    await runtime.dispose()
    throw internal.rejectionOf(exit.cause)
  }
  const [service, rt] = exit.value
  let disposed = false
  const closed = () => internal.closedError("dispose() was called")
  const methods = (signal: AbortSignal | undefined): Methods => {
    const entries = Object.entries(service).filter(([, method]) => typeof method === "function").map((
      [name, method]
    ) => [
      name,
      (...args: ReadonlyArray<unknown>) =>
        disposed
          ? Promise.reject(closed())
          : internal.run(
            rt,
            Effect.map(
              (method as (...a: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>)(...args),
              internal.settled
            ),
            signal
          )
    ])
    return Object.fromEntries(entries) as unknown as Methods
  }
  return {
    ...methods(undefined),
    withSignal: (signal) => methods(signal),
    asTokenCredential: () => {
      const getToken = AzureIdentity.getToken(service, rt, () => disposed)
      return {
        getToken: (scopes, getTokenOptions) => disposed ? Promise.reject(closed()) : getToken(scopes, getTokenOptions)
      }
    },
    dispose: () => {
      disposed = true
      return runtime.dispose()
    }
  }
}

/**
 * A client from options and a credential, with an in-memory cache and `fetch` unless other
 * layers are given. Rejects when the options or the credential are unusable
 * (`InvalidRequest`, `AuthorityError`, `CredentialError`, with a message naming the option),
 * also for input from untyped code (a missing field, an unset variable); it never throws.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = async (options: Options): Promise<Client> => {
  const problem = internal.checkOptions(options, "Msal.make")
  if (problem !== undefined) throw problem
  const { cache, credential, httpClient, logger, signer, ...clientOptions } = options
  const enablePiiLog = clientOptions.enablePiiLog ?? logger?.piiLoggingEnabled
  return fromLayer(
    withServices(
      ConfidentialClient.layer({ ...clientOptions, ...(enablePiiLog === undefined ? {} : { enablePiiLog }) }).pipe(
        Layer.provide(CredentialSigner.layer(credential, signer))
      ),
      { cache, httpClient }
    ),
    { logger }
  )
}

/**
 * A client configured from the environment (`ConfidentialClient.layerConfig`: `AZURE_CLIENT_ID`,
 * `AZURE_TENANT_ID`, a credential variable, …). Rejects with an `Error` naming the missing or
 * conflicting variable (its `cause` is the `ConfigError`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnvironment = async (options?: ConfidentialClient.ConfigOptions & Services): Promise<Client> => {
  const problem = options === undefined ? undefined : internal.checkOptions(options, "Msal.fromEnvironment")
  if (problem !== undefined) throw problem
  const { cache, httpClient, logger, ...configOptions } = options ?? {}
  const enablePiiLog = configOptions.enablePiiLog ?? logger?.piiLoggingEnabled
  return fromLayer(
    withServices(
      ConfidentialClient.layerConfig({ ...configOptions, ...(enablePiiLog === undefined ? {} : { enablePiiLog }) }),
      { cache, httpClient }
    ),
    { logger }
  )
}
