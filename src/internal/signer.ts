import { Effect, Redacted } from "effect"
import type { ClientCredential } from "../ClientCredential.js"
import type { Service } from "../CredentialSigner.js"
import { CredentialError } from "../MsalError.js"

/** @internal */
export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/** @internal */
export const make = (credential: ClientCredential): Effect.Effect<Service, CredentialError> => {
  switch (credential._tag) {
    case "Secret":
      return secretSigner(credential.secret)
    default:
      return Effect.fail(
        new CredentialError({ description: `The ${credential._tag} credential is not yet supported` })
      )
  }
}

const secretSigner = (secret: Redacted.Redacted<string>): Effect.Effect<Service, CredentialError> =>
  Redacted.value(secret).length === 0
    ? Effect.fail(new CredentialError({ description: "The client secret is empty" }))
    : Effect.succeed({
      clientAuth: () => Effect.succeed({ client_secret: secret }),
      reload: Effect.void
    })
