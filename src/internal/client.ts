import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Scope from "effect/Scope"
import * as Effect from "effect/Effect"
import type { Options, Service } from "../ConfidentialClient.js"
import type { CredentialSigner } from "../CredentialSigner.js"
import type { AuthorityError, InvalidRequest } from "../MsalError.js"
import type { TokenCache } from "../TokenCache.js"
import * as Context from "./context.js"
import * as ClientCredentials from "./grants/clientCredentials.js"
import * as UserGrants from "./grants/users.js"
import * as Options_ from "./options.js"

/** The client: one shared context, one module per family of grants. @internal */
export const make = (
  options: Options
): Effect.Effect<
  Service,
  AuthorityError | InvalidRequest,
  HttpClient.HttpClient | TokenCache | CredentialSigner | Scope.Scope
> =>
  Options_.validate(options).pipe(
    Effect.zipRight(Context.make(options)),
    Effect.flatMap((context) =>
      Effect.map(UserGrants.make(context), (users) => ({
        ...ClientCredentials.make(context),
        ...users
      }))
    )
  )
