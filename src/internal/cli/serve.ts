import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestAuthority from "../../TestAuthority.js"
import { AUTHORITY_URL_OVERRIDE } from "./token.js"

/** @internal */
export interface Args {
  readonly port: Option.Option<number>
  readonly expiresIn: Option.Option<number>
  readonly refreshIn: Option.Option<number>
  readonly arcKeyDirectory?: Option.Option<string> | undefined
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
        `  managed identity IMDS:           AZURE_POD_IDENTITY_AUTHORITY_HOST=${server.url}`,
        `                   App Service:    IDENTITY_ENDPOINT=${server.url}/msi/token IDENTITY_HEADER=test-identity-header`,
        `                   Service Fabric: IDENTITY_ENDPOINT=${server.url}/metadata/identity/oauth2/token IDENTITY_HEADER=test-identity-header IDENTITY_SERVER_THUMBPRINT=<any>`,
        `                   Azure ML:       MSI_ENDPOINT=${server.url}/msi/token MSI_SECRET=test-msi-secret`,
        `                   Cloud Shell:    MSI_ENDPOINT=${server.url}/oauth2/token`,
        `                   Azure Arc:      IDENTITY_ENDPOINT=${server.url}/metadata/identity/oauth2/token IMDS_ENDPOINT=${server.url} (with --arc-key-directory)`,
        `                   then            effect-msal token --managed-identity --scope https://management.azure.com/.default`,
        "  stop             Ctrl+C"
      ].join("\n")
    )
    return yield* Effect.never
  }).pipe(
    Effect.scoped,
    Effect.provide(TestAuthority.layer({
      ...Option.match(args.expiresIn, { onNone: () => ({}), onSome: (expiresIn) => ({ expiresIn }) }),
      ...Option.match(args.refreshIn, { onNone: () => ({}), onSome: (refreshIn) => ({ refreshIn }) }),
      ...Option.match(args.arcKeyDirectory ?? Option.none(), {
        onNone: () => ({}),
        onSome: (arcKeyDirectory) => ({ managedIdentity: { arcKeyDirectory } })
      })
    }))
  )
