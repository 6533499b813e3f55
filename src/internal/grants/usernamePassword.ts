import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type { Service, UsernamePasswordRequest } from "../../ConfidentialClient.js"
import { InvalidRequest, NetworkError } from "../../MsalError.js"
import * as Claims from "../claims.js"
import { ApiId, RefreshReason } from "../protocol/tokenRequest.js"
import { redirectError, refuseRedirects } from "../transport.js"
import type { ClientContext } from "../context.js"
import type { UserContext } from "./userGrant.js"
import { redeem, requireRecord, scopesOf, secretInput } from "./userGrant.js"

/** The user-realm discovery URL for a user, and how errors and spans show it (without the name unless PII logging is on). */
const userRealmUrls = (ctx: ClientContext, username: string): { readonly url: string; readonly shown: string } => {
  const origin = ctx.authority.origin
  const url = `${origin}/common/userrealm/${encodeURIComponent(username)}`
  return { url, shown: ctx.options.enablePiiLog === true ? url : `${origin}/common/userrealm/<username>` }
}

/** The user-realm discovery request (`api-version=1.0`, JSON, the client's headers and a new request id). */
const userRealmRequest = (ctx: ClientContext, url: string): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.get(url).pipe(
    HttpClientRequest.setUrlParam("api-version", "1.0"),
    HttpClientRequest.setHeaders({
      ...ctx.headers,
      accept: "application/json",
      "client-request-id": crypto.randomUUID()
    })
  )

/** A discovery answer that cannot be used, named by the shown URL. */
const realmFailure = (shown: string, description: string, status?: number) =>
  new NetworkError({
    reason: "InvalidResponse",
    url: shown,
    description,
    ...(status === undefined ? {} : { status })
  })

/**
 * Sends the discovery request: redirects refused, traced only with PII logging (the URL names
 * the user), bounded by the client's timeout.
 */
const sendUserRealm = (ctx: ClientContext, url: string, shown: string) => {
  const never = refuseRedirects(ctx.http)
  const http = ctx.options.enablePiiLog === true ? never : HttpClient.withTracerDisabledWhen(never, () => true)
  return http.execute(userRealmRequest(ctx, url)).pipe(
    Effect.mapError((error) =>
      redirectError(shown, error) ??
        new NetworkError({ reason: "Transport", url: shown, description: "user realm discovery failed" })
    ),
    Effect.timeoutFail({
      duration: ctx.timeout,
      onTimeout: () =>
        new NetworkError({ reason: "Timeout", url: shown, description: "user realm discovery timed out" })
    })
  )
}

/**
 * `account_type` of the user's realm (`Managed`, `Federated`, `Unknown`), when the authority
 * says; a host that answers 404 is remembered in `noDiscovery` and not asked again.
 */
const accountType = (ctx: ClientContext, noDiscovery: Set<string>, username: string) =>
  Effect.gen(function*() {
    const origin = ctx.authority.origin
    if (noDiscovery.has(origin)) return undefined
    const { shown, url } = userRealmUrls(ctx, username)
    const response = yield* sendUserRealm(ctx, url, shown)
    if (response.status === 404) {
      noDiscovery.add(origin)
      return undefined
    }
    const body = yield* Effect.mapError(response.json, () =>
      realmFailure(shown, "user realm discovery answered with a body that is not JSON", response.status))
    if (response.status >= 400) {
      return yield* realmFailure(shown, "user realm discovery failed", response.status)
    }
    return Predicate.isRecord(body) && typeof body.account_type === "string" ? body.account_type : undefined
  })

/** The password grant, after a realm check that turns federated accounts away (Entra authorities only). */
const acquireTokenByUsernamePassword = (
  u: UserContext,
  accountTypeOf: (username: string) => Effect.Effect<string | undefined, NetworkError>
) =>
  Effect.fn("ConfidentialClient.acquireTokenByUsernamePassword")(
    function*(request: UsernamePasswordRequest) {
      const { ctx } = u
      yield* requireRecord(request, "username, password and scopes")
      if (typeof request.username !== "string" || request.username.trim().length === 0) {
        return yield* new InvalidRequest({ field: "username", description: "username must be a non-empty string" })
      }
      const username = request.username
      const password = yield* (secretInput("password", request.password))
      const { decorated } = yield* (scopesOf(u, request.scopes))
      const claims = yield* (Claims.merge(ctx.options.clientCapabilities, request.claims))
      const endpoints = yield* ctx.endpointsFor(undefined)
      yield* Effect.annotateCurrentSpan({ "msal.grant": "password", "msal.tenant": endpoints.realm })
      if (endpoints.kind === "Entra" && (yield* accountTypeOf(username)) === "Federated") {
        return yield* new InvalidRequest({
          field: "username",
          description: "the username/password flow is not supported for federated accounts; use the auth-code flow"
        })
      }
      return yield* redeem(u, {
        endpoints,
        grant: { grant_type: "password", username, password, scope: decorated.join(" "), claims },
        scopes: decorated,
        apiId: ApiId.acquireTokenByUsernamePassword,
        reason: RefreshReason.NotSilent,
        anchor: `upn:${username}`,
        accountSource: "password",
        username
      })
    }
  )

/**
 * `acquireTokenByUsernamePassword`: the password grant (ROPC) for managed accounts, after a
 * user-realm discovery that turns federated accounts away (MSAL Python's `acquire_token_by_username_password`).
 * @internal
 */
export const make = (u: UserContext): Pick<Service, "acquireTokenByUsernamePassword"> => {
  /** Hosts without user-realm discovery (they answered 404), for this client. */
  const noDiscovery = new Set<string>()
  return {
    acquireTokenByUsernamePassword: acquireTokenByUsernamePassword(
      u,
      (username) => accountType(u.ctx, noDiscovery, username)
    )
  }
}
