import { Console, Effect, Option } from "effect"
import * as TestAuthority from "../../TestAuthority.js"
import { AUTHORITY_URL_OVERRIDE } from "./token.js"

/** @internal */
export interface Args {
  readonly port: Option.Option<number>
  readonly expiresIn: Option.Option<number>
  readonly refreshIn: Option.Option<number>
}

/**
 * `effect-msal authority serve`: the test authority on 127.0.0.1 until SIGINT/SIGTERM; the
 * first line printed is `listening on <url>`. @internal
 */
export const run = (args: Args) =>
  Effect.gen(function*() {
    const server = yield* TestAuthority.serve({ port: Option.getOrUndefined(args.port) })
    yield* Console.log(`effect-msal test authority listening on ${server.url}`)
    yield* Console.log(
      [
        `  token endpoint   ${server.url}/<tenant>/oauth2/v2.0/token (any client id with a non-empty secret or an assertion)`,
        `  as the authority ${AUTHORITY_URL_OVERRIDE}=${server.url} effect-msal token --scope https://graph.microsoft.com/.default`,
        "  stop             Ctrl+C"
      ].join("\n")
    )
    return yield* Effect.never
  }).pipe(
    Effect.scoped,
    Effect.provide(TestAuthority.layer({
      ...Option.match(args.expiresIn, { onNone: () => ({}), onSome: (expiresIn) => ({ expiresIn }) }),
      ...Option.match(args.refreshIn, { onNone: () => ({}), onSome: (refreshIn) => ({ refreshIn }) })
    }))
  )
