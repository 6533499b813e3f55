/**
 * The HTTP transport for token requests, with proxy support: `fetch` (undici's) through the
 * proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, as curl and most tools
 * read them) or the one given. The Promise client (`effect-msal/promise`) and the CLI use it by
 * default; Effect programs provide it where they provide an `HttpClient`.
 *
 * @example
 * ```ts
 * import * as Layer from "effect/Layer"
 * import { ConfidentialClient, TokenCache, Transport } from "effect-msal"
 *
 * // HTTPS_PROXY=http://proxy.contoso.com:8080 NO_PROXY=localhost,.internal.contoso.com
 * const ClientLive = ConfidentialClient.layerConfig().pipe(
 *   Layer.provide(TokenCache.layerMemory()),
 *   Layer.provide(Transport.layer())
 * )
 * // or a proxy chosen by the program, whatever the environment says:
 * const Proxied = Transport.layer({ proxy: "http://proxy.contoso.com:8080" })
 * ```
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Layer from "effect/Layer"
import * as internal from "./internal/proxy.js"
import type { InvalidRequest } from "./MsalError.js"

/**
 * Where requests go.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The proxy for every request (`http://host:port`; credentials may be in the URL), whatever
   * the environment says; `false` sends every request directly. Absent: `https_proxy` or
   * `HTTPS_PROXY` for https URLs (else the http proxy), `http_proxy` or `HTTP_PROXY` for http
   * URLs, read through Effect's `ConfigProvider` when the layer is built.
   */
  readonly proxy?: string | URL | false | undefined
  /**
   * Hosts reached directly, comma- or space-separated (`localhost,contoso.com,10.0.0.1:8443`):
   * an entry matches that host and its subdomains (a leading `.` or `*.` changes nothing),
   * `host:port` only that port, `*` alone every host (undici's `EnvHttpProxyAgent` rules).
   * Absent: `no_proxy` or `NO_PROXY`.
   */
  readonly noProxy?: string | undefined
}

/**
 * An `HttpClient` (undici's `fetch`) that sends requests through the proxy of `options` or of
 * the environment. A proxy URL that is not http(s) fails the layer with an `InvalidRequest`
 * naming it. Connections are closed when the layer's scope closes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: Options) => Layer.Layer<HttpClient.HttpClient, InvalidRequest> = internal.layer
