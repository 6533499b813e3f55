import type * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import * as ConfidentialClient from "../../ConfidentialClient.js"
import * as ManagedIdentity from "../../ManagedIdentity.js"
import { InvalidRequest } from "../../MsalError.js"
import * as TestAuthority from "../../TestAuthority.js"
import * as TokenCache from "../../TokenCache.js"
import * as Transport from "../../Transport.js"
import { Variables } from "../config.js"

/**
 * Sends every authority request to this loopback URL instead (through
 * `TestAuthority.layerHttpClientVia`): for testing the CLI against `effect-msal authority
 * serve`. Only http(s) URLs on 127.0.0.1, localhost or [::1] are accepted. @internal
 */
export const AUTHORITY_URL_OVERRIDE = "EFFECT_MSAL_AUTHORITY_URL_OVERRIDE"

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"])

/** @internal */
export interface Args {
  readonly scope: ReadonlyArray<string>
  readonly tenant: Option.Option<string>
  readonly clientId: Option.Option<string>
  readonly authorityHost: Option.Option<string>
  readonly cacheFile: Option.Option<string>
  readonly showToken: boolean
  readonly managedIdentity: boolean
}

/** Flags first, then the current provider (the environment unless a caller set another). */
const providerFor = (args: Args, fallback: ConfigProvider.ConfigProvider): ConfigProvider.ConfigProvider => {
  const flags = new Map<string, string>()
  const set = (name: string, value: Option.Option<string>) => Option.map(value, (v) => flags.set(name, v))
  set(Variables.tenantId, args.tenant)
  set(Variables.clientId, args.clientId)
  set(Variables.authorityHost, args.authorityHost)
  return ConfigProvider.fromMap(flags).pipe(ConfigProvider.orElse(() => fallback))
}

/** fetch through the proxy of HTTPS_PROXY / HTTP_PROXY / NO_PROXY, unless the test override is set */
const httpLayer: Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError | InvalidRequest> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const override = yield* Config.option(Config.string(AUTHORITY_URL_OVERRIDE))
    if (Option.isNone(override) || override.value.trim() === "") return Transport.layer()
    let url: URL | undefined
    try {
      url = new URL(override.value.trim())
    } catch {
      url = undefined
    }
    if (url === undefined || !LOOPBACK.has(url.hostname) || !/^https?:$/.test(url.protocol)) {
      return yield* Effect.fail(
        ConfigError.InvalidData(
          [AUTHORITY_URL_OVERRIDE],
          "must be an http URL on 127.0.0.1, localhost or [::1] (testing only)"
        )
      )
    }
    yield* Console.error(
      `effect-msal: ${AUTHORITY_URL_OVERRIDE} is set: authority requests go to ${url.origin} (testing only)`
    )
    return TestAuthority.layerHttpClientVia(url.origin)
  })
)

/** The JSON the command prints: what the token is for and until when; the token itself only on request. @internal */
export const summary = (result: AuthenticationResult, nowMillis: number, showToken: boolean) => ({
  tokenType: result.tokenType,
  source: result.tokenSource,
  scopes: result.scopes,
  tenantId: result.tenantId,
  expiresOn: result.expiresOn.toISOString(),
  expiresInSeconds: Math.max(0, Math.floor((result.expiresOn.getTime() - nowMillis) / 1000)),
  ...(result.refreshOn === undefined ? {} : { refreshOn: result.refreshOn.toISOString() }),
  ...(result.correlationId === undefined ? {} : { correlationId: result.correlationId }),
  ...(showToken ? { accessToken: Redacted.value(result.accessToken) } : {})
})

const cacheLayer = (args: Args) =>
  Option.match(args.cacheFile, {
    onNone: () => TokenCache.layerMemory(),
    onSome: (path) => TokenCache.layerFile(path)
  })

/**
 * `effect-msal token --managed-identity`: a token of the managed identity the environment
 * names, for the one resource given as `--scope` (`/.default` dropped). @internal
 */
const runManagedIdentity = (args: Args) =>
  Effect.gen(function*() {
    const [resource, ...more] = args.scope
    if (resource === undefined || more.length > 0) {
      return yield* new InvalidRequest({
        field: "--scope",
        description: "a managed identity token is for one resource: give one --scope"
      })
    }
    const mi = yield* ManagedIdentity.ManagedIdentity
    const result = yield* mi.acquireToken({ resource })
    const now = yield* Clock.currentTimeMillis
    yield* Console.log(
      JSON.stringify({ ...summary(result, now, args.showToken), managedIdentitySource: yield* mi.source }, null, 2)
    )
  }).pipe(
    Effect.provide(
      ManagedIdentity.layer(Option.match(args.clientId, { onNone: () => ({}), onSome: (clientId) => ({ clientId }) }))
        .pipe(
          Layer.provide(cacheLayer(args)),
          Layer.provide(httpLayer)
        )
    )
  )

/** `effect-msal token`: an app token with the configuration from flags and the environment. @internal */
export const run = (args: Args) => args.managedIdentity ? runManagedIdentity(args) : runClient(args)

const runClient = (args: Args) =>
  Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient
    const result = yield* client.acquireTokenForClient({ scopes: args.scope })
    const now = yield* Clock.currentTimeMillis
    yield* Console.log(JSON.stringify(summary(result, now, args.showToken), null, 2))
  }).pipe(
    Effect.provide(
      ConfidentialClient.layerConfig({ appName: "effect-msal-cli" }).pipe(
        Layer.provide(cacheLayer(args)),
        Layer.provide(httpLayer)
      )
    ),
    (effect) => Effect.configProviderWith((current) => Effect.withConfigProvider(effect, providerFor(args, current)))
  )
