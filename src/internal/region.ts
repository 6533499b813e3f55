import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { MsalError } from "../MsalError.js"
import type * as Authority from "./authority.js"
import * as HttpCache from "./httpCache.js"
import type * as TokenRequest from "./protocol/tokenRequest.js"
import type * as TokenResponse from "./protocol/tokenResponse.js"

/** The IMDS compute-metadata request (MSAL Python PR #929: IMDS `/compute` JSON). @internal */
export const IMDS_URL = "http://169.254.169.254/metadata/instance/compute?api-version=2021-02-01"
/** @internal */
export const DEFAULT_IMDS_TIMEOUT = Duration.seconds(2)

const NAME = /^[a-z][a-z0-9-]*$/

/**
 * A region name: lower-case letters, digits and hyphens, starting with a letter, not ending
 * with a hyphen, at most 63 characters (MSAL Python PR #921). @internal
 */
export const isValidName = (name: unknown): name is string =>
  typeof name === "string" && name.length <= 63 && NAME.test(name) && !name.endsWith("-")

/** The `azureRegion` option: a region name, `"discover"`, `false`, or absent. @internal */
export type Setting = string | false | undefined

/** The hosts whose regional host is `{region}.login.microsoft.com` (MSAL Python's `_get_regional_authority`). @internal */
export const PUBLIC_CLOUD_HOSTS: ReadonlySet<string> = new Set([
  "login.microsoftonline.com",
  "login.microsoft.com",
  "login.windows.net",
  "sts.windows.net"
])

/** The regional host for a central host (MSAL Python's `_get_regional_authority`). @internal */
export const regionalHost = (centralHost: string, region: string): string =>
  PUBLIC_CLOUD_HOSTS.has(centralHost.toLowerCase())
    ? `${region}.login.microsoft.com`
    : `${region}.${centralHost.toLowerCase()}`

/**
 * The regional token endpoint for these endpoints: the central token endpoint with the
 * regional host, for Entra tenants only (B2C, CIAM, AD FS and generic OIDC have no regional
 * endpoints). @internal
 */
export const regionalTokenEndpoint = (
  authority: Authority.Authority,
  endpoints: Authority.Endpoints,
  region: string
): string | undefined => {
  if (endpoints.form !== "Aad") return undefined
  const url = new URL(endpoints.tokenEndpoint)
  url.hostname = regionalHost(authority.host, region)
  return url.href
}

const Compute = Schema.parseJson(Schema.Struct({ location: Schema.String }))

/** Keeps only the location of an IMDS answer: the rest of the VM's metadata is not ours to store. */
const keepLocation = (body: string): string | undefined =>
  Option.match(Schema.decodeUnknownOption(Compute)(body), {
    onNone: () => undefined,
    onSome: ({ location }) => JSON.stringify({ location })
  })

const fromEnvironment = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.map(Option.filter((v) => v.length > 0)),
    Effect.orElseSucceed(() => Option.none<string>())
  )

const validated = (value: string, source: string): Effect.Effect<Option.Option<string>> =>
  isValidName(value)
    ? Effect.succeed(Option.some(value))
    : Effect.as(
      Effect.logWarning(`effect-msal: ignoring the invalid region from ${source}; the global endpoint is used`, {
        region: String(value).slice(0, 80)
      }),
      Option.none<string>()
    )

/** IMDS: one GET with `Metadata: true`, a short timeout; any failure means no region. */
const probeImds = (ctx: HttpCache.GetContext) =>
  HttpCache.get(ctx, IMDS_URL, { headers: { Metadata: "true" }, keep: keepLocation }).pipe(
    Effect.map((answer) =>
      answer.status >= 200 && answer.status < 300
        ? Option.map(Schema.decodeUnknownOption(Compute)(answer.body), (c) => c.location)
        : Option.none()
    ),
    Effect.catchAll((error) =>
      Effect.as(Effect.logDebug("effect-msal: IMDS did not answer", { reason: error.reason }), Option.none<string>())
    ),
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeed(Option.none<string>()),
      onSome: (location) => validated(location, "IMDS")
    }))
  )

/**
 * The region in use (MSAL Python's `azure_region`): an explicit name as given (never probing IMDS);
 * `"discover"`: `REGION_NAME`, else IMDS; `false`: none; absent: `MSAL_FORCE_REGION`.
 * Environment variables are read through `Config`. Invalid names are ignored with a
 * warning. Never fails. @internal
 */
export const resolve = (setting: Setting, ctx: HttpCache.GetContext): Effect.Effect<Option.Option<string>> =>
  Effect.gen(function*() {
    if (setting === false) return Option.none()
    if (setting === undefined) {
      const forced = yield* fromEnvironment("MSAL_FORCE_REGION")
      return Option.isSome(forced) ? yield* validated(forced.value, "MSAL_FORCE_REGION") : Option.none()
    }
    if (setting !== "discover") return yield* validated(setting, "the azureRegion option")
    const named = yield* fromEnvironment("REGION_NAME")
    const found = Option.isSome(named) ? yield* validated(named.value, "REGION_NAME") : yield* probeImds(ctx)
    if (Option.isNone(found)) {
      yield* Effect.logInfo("effect-msal: no Azure region was found; tokens are requested from the global endpoint")
    }
    return found
  }).pipe(Effect.withSpan("ConfidentialClient.regionDiscovery"))

/** Sends a token request for these endpoints, through the regional endpoint when `regional` and a region is set. @internal */
export type RegionalSend = (
  endpoints: Authority.Endpoints,
  request: TokenRequest.TokenRequest,
  regional: boolean
) => Effect.Effect<TokenResponse.TokenResponse, MsalError>

/**
 * Token sending through the regional endpoint (client credentials only). The region is
 * resolved at the first token request that needs it, once per client; cache hits never
 * trigger it. A request whose regional host cannot be reached (a transport failure) is sent
 * again to the global endpoint. Tokens are cached by the caller under the central
 * environment either way. @internal
 */
export const makeSend = (deps: {
  readonly authority: Authority.Authority
  readonly setting: Setting
  readonly ctx: HttpCache.GetContext
  readonly send: (request: TokenRequest.TokenRequest) => Effect.Effect<TokenResponse.TokenResponse, MsalError>
}): Effect.Effect<RegionalSend> =>
  Effect.map(
    Effect.cached(resolve(deps.setting, deps.ctx)),
    (region) => (endpoints, request, useRegion) =>
      !useRegion ? deps.send(request) : Effect.flatMap(region, (found) => {
        if (Option.isNone(found) || request.endpoint !== endpoints.tokenEndpoint) return deps.send(request)
        const regional = regionalTokenEndpoint(deps.authority, endpoints, found.value)
        if (regional === undefined) return deps.send(request)
        return deps.send({ ...request, endpoint: regional }).pipe(
          Effect.catchIf(
            (error) => error._tag === "NetworkError" && error.reason === "Transport",
            () =>
              Effect.logWarning("effect-msal: the regional endpoint could not be reached; using the global endpoint", {
                url: regional
              }).pipe(Effect.zipRight(deps.send(request)))
          ),
          Effect.annotateSpans("msal.region", found.value)
        )
      })
  )
