/**
 * A middle-tier API (MSAL Python's on-behalf-of scenario): one route that takes the caller's bearer token, exchanges it
 * on behalf of the user for a token to a downstream API, calls that API and returns its
 * answer. A claims challenge from Entra (Conditional Access asking for MFA, for example)
 * goes back to the caller as a 401 with the challenge in `WWW-Authenticate`, as Microsoft's
 * guidance for APIs describes.
 */
import type { HttpClientError } from "@effect/platform"
import { HttpClient, HttpClientRequest, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect, Either, Option, Redacted } from "effect"
import type { MsalError } from "effect-msal"
import { ConfidentialClient } from "effect-msal"
import * as Bearer from "../shared/Bearer.js"

/** The API this one calls on the user's behalf. */
export interface DownstreamService {
  /** The URL the route GETs. */
  readonly url: string
  /** The scopes of the on-behalf-of exchange, for example `["https://graph.microsoft.com/User.Read"]`. */
  readonly scopes: ReadonlyArray<string>
}

/** The downstream API. */
export class Downstream extends Context.Tag("examples/api/Downstream")<Downstream, DownstreamService>() {}

/** Where Microsoft's guidance points clients for a new sign-in. */
export const AUTHORIZATION_URI = "https://login.microsoftonline.com/common/oauth2/authorize"

/**
 * The `WWW-Authenticate` value of a claims challenge:
 * `Bearer realm="", authorization_uri="…", error="insufficient_claims", claims="<base64>"`.
 */
export const claimsChallenge = (claims: string): string =>
  `Bearer realm="", authorization_uri="${AUTHORIZATION_URI}", error="insufficient_claims", claims="${
    Buffer.from(claims, "utf8").toString("base64")
  }"`

/** The first line of a description (Entra appends trace and correlation ids on later lines). */
const firstLine = (text: string | undefined): string | undefined => text?.split(/\r?\n/)[0]

const problem = (status: number, error: string, description: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson({ error, error_description: description }, { status, headers })

/**
 * An on-behalf-of failure as the caller should see it. Nothing here echoes a token: the
 * library's errors never hold one.
 */
export const fromMsalError = (e: MsalError.MsalError): HttpServerResponse.HttpServerResponse => {
  switch (e._tag) {
    case "ServerError": {
      if (e.claims !== undefined) {
        // Conditional Access wants more from the user: the caller's client must sign in
        // again with these claims, then call us with its new token.
        return HttpServerResponse.unsafeJson(
          { error: e.error, error_description: firstLine(e.errorDescription) ?? e.error, claims: e.claims },
          { status: 401, headers: { "www-authenticate": claimsChallenge(e.claims) } }
        )
      }
      if (e.error === "invalid_grant") {
        // the caller's token was refused: expired, for another audience, revoked
        const description = firstLine(e.errorDescription) ?? "the token was refused"
        return problem(401, "invalid_token", description, { "www-authenticate": Bearer.challenge({ description }) })
      }
      if (e.error === "interaction_required" || e.error === "consent_required") {
        return problem(403, e.error, firstLine(e.errorDescription) ?? "the user must consent to the downstream API")
      }
      return problem(
        500,
        "server_error",
        `the identity provider refused this API's request (${e.error}, correlation id ${e.correlationId ?? "unknown"})`
      )
    }
    case "InvalidRequest":
      return e.field === "userAssertion"
        ? problem(401, "invalid_token", e.description, {
          "www-authenticate": Bearer.challenge({ description: e.description })
        })
        : problem(500, "server_error", e.message)
    case "NetworkError":
    case "Throttled":
      return problem(503, "temporarily_unavailable", "the identity provider could not be reached; try again later")
    default:
      return problem(500, "server_error", `this API could not get a token (${e._tag})`)
  }
}

const fromDownstreamError = (e: HttpClientError.HttpClientError) =>
  problem(
    502,
    "bad_gateway",
    e._tag === "ResponseError"
      ? `the downstream API answered ${e.response.status}`
      : "the downstream API could not be reached"
  )

/** `GET /api/data`: the caller's token → on-behalf-of → the downstream API → its answer. */
export const data = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const bearer = Bearer.parse(request.headers.authorization)
  if (Either.isLeft(bearer)) {
    return problem(401, bearer.left.reason === "Missing" ? "unauthorized" : "invalid_token", bearer.left.description, {
      "www-authenticate": Bearer.challenge(bearer.left)
    })
  }
  // Entra's access tokens are JWTs: anything else is refused here, without a round trip. A
  // production API verifies the token fully before using it (signature against the tenant's
  // keys, `aud`, `iss`, `exp`: jose's `jwtVerify`); Entra refuses an assertion that is expired
  // or for another audience anyway (invalid_grant), which becomes a 401 in `fromMsalError`.
  if (Option.isNone(Bearer.unverifiedClaims(Redacted.value(bearer.right)))) {
    const description = "the bearer token is not a JWT"
    return problem(401, "invalid_token", description, { "www-authenticate": Bearer.challenge({ description }) })
  }
  const client = yield* ConfidentialClient.ConfidentialClient
  const downstream = yield* Downstream
  const http = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
  return yield* client.acquireTokenOnBehalfOf({ userAssertion: bearer.right, scopes: downstream.scopes }).pipe(
    Effect.flatMap((result) =>
      http.execute(HttpClientRequest.get(downstream.url).pipe(HttpClientRequest.bearerToken(result.accessToken))).pipe(
        Effect.flatMap((response) => response.json),
        Effect.scoped,
        Effect.map((answer) =>
          HttpServerResponse.unsafeJson(answer, { headers: { "x-obo-token-source": result.tokenSource } })
        ),
        Effect.catchAll((e) =>
          Effect.as(Effect.logWarning(`downstream call failed: ${e._tag}`), fromDownstreamError(e))
        )
      )
    ),
    Effect.catchAll((e) => Effect.as(Effect.logWarning(`on-behalf-of failed: ${e.message}`), fromMsalError(e)))
  )
})

/** The API's routes. */
export const router = HttpRouter.empty.pipe(HttpRouter.get("/api/data", data))
