import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Options } from "../Transport.js"
import { InvalidRequest } from "../MsalError.js"

/**
 * Where requests go: through `httpProxy` for http URLs, `httpsProxy` for https URLs, directly
 * for hosts `noProxy` names (empty strings: none). @internal
 */
export interface Settings {
  readonly httpProxy: string
  readonly httpsProxy: string
  readonly noProxy: string
}

/** A variable that is absent or blank is unset, as proxy-aware tools treat it. */
const variable = (name: string): Config.Config<Option.Option<string>> =>
  Config.string(name).pipe(Config.option, Config.map(Option.filter((s) => s.trim().length > 0)))

/**
 * The first set of these names. The lower-case name wins, then the upper-case one, as undici's
 * `EnvHttpProxyAgent` reads them (lib/dispatcher/env-http-proxy-agent.js) and curl does.
 */
const firstOf = (...names: ReadonlyArray<string>): Config.Config<Option.Option<string>> =>
  Config.map(Config.all(names.map(variable)), (values) => Option.firstSomeOf(values))

/** A proxy URL must be http(s) with a host: anything else is rejected before any request. */
const checkProxy = (field: string, value: string): Effect.Effect<string, InvalidRequest> => {
  let url: URL | undefined
  try {
    url = new URL(value.trim())
  } catch {
    url = undefined
  }
  return url !== undefined && (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== ""
    ? Effect.succeed(url.href)
    : Effect.fail(
      new InvalidRequest({ field, description: "must be a proxy URL such as http://proxy.contoso.com:8080" })
    )
}

/**
 * The settings of `options`, else of the environment (`https_proxy`/`HTTPS_PROXY`, falling back
 * to `http_proxy`/`HTTP_PROXY` for https URLs, and `no_proxy`/`NO_PROXY`). @internal
 */
export const settings = (options: Options | undefined): Effect.Effect<Settings, InvalidRequest> =>
  Effect.gen(function*() {
    const env = yield* Config.all({
      http: firstOf("http_proxy", "HTTP_PROXY"),
      https: firstOf("https_proxy", "HTTPS_PROXY"),
      noProxy: firstOf("no_proxy", "NO_PROXY")
    }).pipe(Effect.orElseSucceed(() => ({ http: Option.none(), https: Option.none(), noProxy: Option.none() })))
    const noProxy = options?.noProxy ?? Option.getOrElse(env.noProxy, () => "")
    if (typeof noProxy !== "string") {
      return yield* new InvalidRequest({
        field: "noProxy",
        description: "must be a string such as \"localhost,.internal\""
      })
    }
    const proxy = options?.proxy
    if (proxy === false) return { httpProxy: "", httpsProxy: "", noProxy: "" }
    if (proxy !== undefined) {
      const uri = yield* checkProxy("proxy", String(proxy))
      return { httpProxy: uri, httpsProxy: uri, noProxy }
    }
    const httpProxy = Option.isSome(env.http) ? yield* checkProxy("HTTP_PROXY", env.http.value) : ""
    const httpsProxy = Option.isSome(env.https) ? yield* checkProxy("HTTPS_PROXY", env.https.value) : httpProxy
    return { httpProxy, httpsProxy, noProxy }
  })

/**
 * `FetchHttpClient` over undici's `fetch` with an `EnvHttpProxyAgent` built from the settings
 * (given explicitly, so undici reads no variable itself); the agent's connections are closed
 * with the layer. @internal
 */
export const layer = (options?: Options): Layer.Layer<HttpClient.HttpClient, InvalidRequest> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const resolved = yield* settings(options)
    const undici = yield* Effect.promise(() => import("undici"))
    const agent = yield* Effect.acquireRelease(
      Effect.sync(() => new undici.EnvHttpProxyAgent(resolved)),
      (agent) => Effect.promise(() => agent.close())
    )
    const fetch = ((input: string | URL, init?: RequestInit) =>
      undici.fetch(
        input,
        { ...init, dispatcher: agent } as Parameters<typeof undici.fetch>[1]
      )) as unknown as typeof globalThis.fetch
    // fresh: a memoised `FetchHttpClient.layer` built elsewhere (without this fetch) is not reused
    return Layer.fresh(FetchHttpClient.layer).pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, fetch)))
  }))
