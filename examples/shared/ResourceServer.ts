/**
 * A local stand-in for a protected API (Microsoft Graph, a downstream API) that accepts only
 * tokens the embedded test authority issued, for its own audience, not expired.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpServerError } from "@effect/platform"
import type { Scope } from "effect"
import { Clock, Effect, Either, Option, Redacted, Ref } from "effect"
import type * as TestAuthority from "effect-msal/TestAuthority"
import * as Bearer from "./Bearer.js"
import * as Server from "./Server.js"

/** The claims of an accepted token. */
export type Claims = Readonly<Record<string, unknown>>

/** A call the server answered. */
export interface Call {
  readonly path: string
  readonly status: number
  /** Which of the authority's tokens was presented (1 for its first), when it was one. */
  readonly tokenSequence?: number | undefined
}

/** What the server protects. */
export interface Options {
  /** The `aud` tokens must carry, for example `https://graph.microsoft.com`. */
  readonly audience: string
  /** App-only tokens (client credentials) or tokens for a user (`scp`). */
  readonly tokenKind: "app" | "user"
  /** GET routes by path, answered with JSON built from the token's claims. */
  readonly routes: Readonly<Record<`/${string}`, (claims: Claims) => unknown>>
  /** Default 0 (a free port). */
  readonly port?: number | undefined
}

/** A running resource server. */
export interface Running {
  readonly url: string
  /** Every call, oldest first. */
  readonly calls: Effect.Effect<ReadonlyArray<Call>>
}

interface Accepted {
  readonly claims: Claims
  readonly sequence: number
}

interface Refused {
  readonly problem: Bearer.BearerProblem
  readonly sequence: number | undefined
}

const refused = (description: string, sequence: number | undefined): Either.Either<Accepted, Refused> =>
  Either.left({ problem: new Bearer.BearerProblem({ reason: "Invalid", description }), sequence })

const unauthorized = (problem: Bearer.BearerProblem) =>
  HttpServerResponse.unsafeJson(
    { error: problem.reason === "Missing" ? "unauthorized" : "invalid_token", error_description: problem.description },
    { status: 401, headers: { "www-authenticate": Bearer.challenge(problem) } }
  )

/** Serves the routes on 127.0.0.1 until the scope closes. */
export const serve = (
  authority: TestAuthority.Service,
  options: Options
): Effect.Effect<Running, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const calls = yield* Ref.make<ReadonlyArray<Call>>([])

    /** The claims of a token this authority issued for this audience, or why not. */
    const check = (header: string | undefined): Effect.Effect<Either.Either<Accepted, Refused>> =>
      Effect.gen(function*() {
        const parsed = Bearer.parse(header)
        if (Either.isLeft(parsed)) return Either.left({ problem: parsed.left, sequence: undefined })
        const token = Redacted.value(parsed.right)
        const issued = (yield* authority.issued).find((t) => t.accessToken === token)
        if (issued === undefined) return refused("the token was not issued by the authority", undefined)
        const sequence = issued.sequence
        const claims = Option.getOrElse(Bearer.unverifiedClaims(token), (): Claims => ({}))
        if (claims.aud !== options.audience) return refused(`the token is not for ${options.audience}`, sequence)
        const now = (yield* Clock.currentTimeMillis) / 1000
        if (typeof claims.exp !== "number" || claims.exp <= now) return refused("the token has expired", sequence)
        const isApp = claims.idtyp === "app"
        if (isApp !== (options.tokenKind === "app")) {
          return refused(`${options.tokenKind === "app" ? "an application" : "a user"} token is required`, sequence)
        }
        return Either.right({ claims, sequence })
      })

    const route = (path: `/${string}`, respond: (claims: Claims) => unknown) =>
      HttpRouter.get(
        path,
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const checked = yield* check(request.headers.authorization)
          const call = (status: number, sequence: number | undefined) =>
            Ref.update(
              calls,
              (all) => [...all, { path, status, ...(sequence === undefined ? {} : { tokenSequence: sequence }) }]
            )
          if (Either.isLeft(checked)) {
            yield* call(401, checked.left.sequence)
            return unauthorized(checked.left.problem)
          }
          yield* call(200, checked.right.sequence)
          return HttpServerResponse.unsafeJson(respond(checked.right.claims))
        })
      )

    const router = Object.entries(options.routes).reduce(
      (r, [path, respond]) => route(path as `/${string}`, respond)(r),
      HttpRouter.empty
    )
    const url = yield* Server.listen(router, { port: options.port ?? 0 })
    return { url, calls: Ref.get(calls) }
  })
