/**
 * The client as an Azure SDK credential. Any Azure SDK client takes it where it takes a
 * `DefaultAzureCredential` (`new SecretClient(url, credential)`); here, a bare
 * `@azure/core-rest-pipeline` pipeline with the bearer-token policy shows what they do.
 * Configuration comes from the environment (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET, …).
 */
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createPipelineRequest
} from "@azure/core-rest-pipeline"
import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"
import { ConfidentialClient, TokenCache } from "effect-msal"
import * as AzureIdentity from "effect-msal/AzureIdentity"

const MsalLive = ConfidentialClient.layerConfig({ clientCapabilities: ["CP1"] }).pipe( // CP1: CAE-ready tokens
  Layer.provide(TokenCache.layerMemory()),
  Layer.provide(FetchHttpClient.layer)
)

export const listSecrets = (vaultUrl: string) =>
  Effect.gen(function*() {
    const credential = yield* AzureIdentity.make
    const pipeline = createEmptyPipeline()
    pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential, scopes: "https://vault.azure.net/.default" }))
    const request = createPipelineRequest({ url: `${vaultUrl}/secrets?api-version=7.5` })
    // a 401 with a claims challenge makes the policy call getToken again with the claims: the
    // client then skips its cache and asks Entra for a token that satisfies them
    return yield* Effect.promise(() => pipeline.sendRequest(createDefaultHttpClient(), request))
  }).pipe(Effect.provide(MsalLive))
