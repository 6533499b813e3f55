/** effect-msal against the local authority, over real HTTP, as a prebuilt runtime. */
import { Layer, ManagedRuntime, Redacted } from "effect"
import type { ClientCredential as Credential } from "effect-msal"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { AUTHORITY, CLIENT_ID, SECRET } from "./fixtures.js"

/** The client layer with its memory cache exposed, talking to `baseUrl`. */
export const layer = (
  baseUrl: string,
  credential: Credential.ClientCredential = ClientCredential.secret(Redacted.make(SECRET))
) =>
  ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
    Layer.provide(CredentialSigner.layer(credential)),
    Layer.provideMerge(TokenCache.layerMemory()),
    Layer.provide(TestAuthority.layerHttpClientVia(baseUrl))
  )

/** A runtime built once; every call then runs with `runtime.runPromise`. */
export const makeRuntime = (baseUrl: string, credential?: Credential.ClientCredential) =>
  ManagedRuntime.make(layer(baseUrl, credential))
