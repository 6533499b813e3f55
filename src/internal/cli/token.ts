import type { HttpClient } from "@effect/platform"
import { Clock, Config, ConfigError, ConfigProvider, Console, Effect, Layer, Option, Redacted } from "effect"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import * as ConfidentialClient from "../../ConfidentialClient.js"
import * as TestAuthority from "../../TestAuthority.js"
import type { InvalidRequest } from "../../MsalError.js"
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
        ConfigError.InvalidData([AUTHORITY_URL_OVERRIDE], "must be an http URL on 127.0.0.1, localhost or [::1] (testing only)")
      )
    }
    yield* Console.error(`effect-msal: ${AUTHORITY_URL_OVERRIDE} is set: authority requests go to ${url.origin} (testing only)`)
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

/** `effect-msal token`: an app token with the configuration from flags and the environment. @internal */
export const run = (args: Args) =>
  Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient
    const result = yield* client.acquireTokenForClient({ scopes: args.scope })
    const now = yield* Clock.currentTimeMillis
    yield* Console.log(JSON.stringify(summary(result, now, args.showToken), null, 2))
  }).pipe(
    Effect.provide(
      ConfidentialClient.layerConfig({ appName: "effect-msal-cli" }).pipe(
        Layer.provide(Option.match(args.cacheFile, {
          onNone: () => TokenCache.layerMemory(),
          onSome: (path) => TokenCache.layerFile(path)
        })),
        Layer.provide(httpLayer)
      )
    ),
    (effect) => Effect.configProviderWith((current) => Effect.withConfigProvider(effect, providerFor(args, current)))
  )
