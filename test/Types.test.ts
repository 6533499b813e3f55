/**
 * The public methods' types, pinned: success, error and requirements of every
 * `ConfidentialClient` method and constructor, the `TokenCache` functions and service, the
 * `CredentialSigner`, `ManagedIdentity`, `Transport`, `AzureIdentity` and the Promise client. These are compile-time checks (`expectTypeOf`):
 * `npm run typecheck` fails when a type drifts; at run time the tests only count them. A
 * deliberate change of a public type updates its line here (and the changeset says so).
 */
import type { HttpClient } from "@effect/platform"
import { describe, expectTypeOf, it } from "@effect/vitest"
import type { ConfigError, Effect, Layer, Option, Scope } from "effect"
import type { AuthCodeFlow, AuthenticationResult, CacheEntry, ClientCredential, MsalError, Requests } from "effect-msal"
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth"
import { ConfidentialClient, CredentialSigner, ManagedIdentity, TokenCache } from "effect-msal"
import * as AzureIdentity from "effect-msal/AzureIdentity"
import * as MsalPromise from "effect-msal/promise"
import * as Transport from "effect-msal/Transport"

type Result = AuthenticationResult.AuthenticationResult
type Account = AuthenticationResult.Account
type Error = MsalError.MsalError
type Client = ConfidentialClient.Service

describe("ConfidentialClient", () => {
  it("methods: each needs nothing and fails with MsalError only", () => {
    expectTypeOf<Client["acquireTokenForClient"]>().toEqualTypeOf<
      (request: Requests.ClientCredentialsRequest) => Effect.Effect<Result, Error>
    >()
    expectTypeOf<Client["removeTokensForClient"]>().toEqualTypeOf<() => Effect.Effect<void, Error>>()
    expectTypeOf<Client["acquireTokenOnBehalfOf"]>().toEqualTypeOf<
      (request: Requests.OnBehalfOfRequest) => Effect.Effect<Result, Error>
    >()
    expectTypeOf<Client["initiateAuthCodeFlow"]>().toEqualTypeOf<
      (request: Requests.AuthCodeFlowRequest) => Effect.Effect<AuthCodeFlow.AuthCodeFlow, Error>
    >()
    expectTypeOf<Client["acquireTokenByAuthCodeFlow"]>().toEqualTypeOf<
      (request: Requests.AuthCodeFlowRedirect) => Effect.Effect<Result, Error>
    >()
    expectTypeOf<Client["acquireTokenByAuthorizationCode"]>().toEqualTypeOf<
      (request: Requests.AuthorizationCodeRequest) => Effect.Effect<Result, Error>
    >()
    expectTypeOf<Client["getAuthorizationRequestUrl"]>().toEqualTypeOf<
      (request: Requests.AuthorizationUrlRequest) => Effect.Effect<string, Error>
    >()
    expectTypeOf<Client["acquireTokenByRefreshToken"]>().toEqualTypeOf<
      (request: Requests.RefreshTokenRequest) => Effect.Effect<Result, Error>
    >()
    expectTypeOf<Client["acquireTokenByUsernamePassword"]>().toEqualTypeOf<
      (request: Requests.UsernamePasswordRequest) => Effect.Effect<Result, Error>
    >()
    expectTypeOf<Client["acquireTokenSilent"]>().toEqualTypeOf<
      (request: Requests.SilentRequest) => Effect.Effect<Result, Error>
    >()
    expectTypeOf<Client["getAccounts"]>().toEqualTypeOf<
      (request?: Requests.AccountsRequest) => Effect.Effect<ReadonlyArray<Account>, Error>
    >()
    expectTypeOf<Client["removeAccount"]>().toEqualTypeOf<(account: Account) => Effect.Effect<void, Error>>()
  })

  it("constructors: what they fail with and what they need", () => {
    expectTypeOf(ConfidentialClient.make).parameters.toEqualTypeOf<[ConfidentialClient.Options]>()
    expectTypeOf(ConfidentialClient.make).returns.toEqualTypeOf<
      Effect.Effect<
        Client,
        MsalError.AuthorityError | MsalError.InvalidRequest,
        HttpClient.HttpClient | TokenCache.TokenCache | CredentialSigner.CredentialSigner | Scope.Scope
      >
    >()
    expectTypeOf(ConfidentialClient.layer).returns.toEqualTypeOf<
      Layer.Layer<
        ConfidentialClient.ConfidentialClient,
        MsalError.AuthorityError | MsalError.InvalidRequest,
        HttpClient.HttpClient | TokenCache.TokenCache | CredentialSigner.CredentialSigner
      >
    >()
    expectTypeOf(ConfidentialClient.layerConfig).parameters.toEqualTypeOf<
      [options?: ConfidentialClient.ConfigOptions]
    >()
    expectTypeOf(ConfidentialClient.layerConfig).returns.toEqualTypeOf<
      Layer.Layer<
        ConfidentialClient.ConfidentialClient,
        ConfigError.ConfigError | MsalError.AuthorityError | MsalError.InvalidRequest | MsalError.CredentialError,
        HttpClient.HttpClient | TokenCache.TokenCache
      >
    >()
  })
})

describe("TokenCache", () => {
  it("the store service: every operation fails with CacheError only and needs nothing", () => {
    type Store = TokenCache.Service
    expectTypeOf<Store["get"]>().toEqualTypeOf<
      <S extends CacheEntry.Section>(
        section: S,
        key: string
      ) => Effect.Effect<Option.Option<CacheEntry.Entries[S]>, MsalError.CacheError>
    >()
    expectTypeOf<Store["list"]>().toEqualTypeOf<
      <S extends CacheEntry.Section>(
        section: S,
        partition?: string | undefined
      ) => Effect.Effect<ReadonlyArray<CacheEntry.Entries[S]>, MsalError.CacheError>
    >()
    expectTypeOf<Store["modify"]>().toEqualTypeOf<
      (changes: ReadonlyArray<TokenCache.Change>) => Effect.Effect<void, MsalError.CacheError>
    >()
    expectTypeOf<Store["snapshot"]>().toEqualTypeOf<Effect.Effect<TokenCache.Snapshot, MsalError.CacheError>>()
    expectTypeOf<Store["restore"]>().toEqualTypeOf<
      (snapshot: TokenCache.Snapshot) => Effect.Effect<void, MsalError.CacheError>
    >()
    // withLock adds no error and no requirement to the effect it guards
    expectTypeOf<Store["withLock"]>().toEqualTypeOf<
      (<A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) | undefined
    >()
  })

  it("serialize and deserialize need a TokenCache and fail with CacheError", () => {
    expectTypeOf(TokenCache.serialize).toEqualTypeOf<
      Effect.Effect<string, MsalError.CacheError, TokenCache.TokenCache>
    >()
    expectTypeOf(TokenCache.serializeWith).toEqualTypeOf<
      (options?: TokenCache.SerializeOptions) => Effect.Effect<string, MsalError.CacheError, TokenCache.TokenCache>
    >()
    expectTypeOf(TokenCache.deserialize).toEqualTypeOf<
      (json: string) => Effect.Effect<void, MsalError.CacheError, TokenCache.TokenCache>
    >()
  })

  it("store layers: memory cannot fail; file and Redis fail with CacheError; hooks need CacheHooks", () => {
    expectTypeOf(TokenCache.makeMemory).toEqualTypeOf<
      (options?: TokenCache.MemoryOptions) => Effect.Effect<TokenCache.Service>
    >()
    expectTypeOf(TokenCache.layerMemory).toEqualTypeOf<
      (options?: TokenCache.MemoryOptions) => Layer.Layer<TokenCache.TokenCache>
    >()
    expectTypeOf(TokenCache.layerFile).toEqualTypeOf<
      (path: string, options?: TokenCache.FileOptions) => Layer.Layer<TokenCache.TokenCache, MsalError.CacheError>
    >()
    expectTypeOf(TokenCache.layerRedis).toEqualTypeOf<
      (options: TokenCache.RedisOptions) => Layer.Layer<TokenCache.TokenCache, MsalError.CacheError>
    >()
    expectTypeOf(TokenCache.layerRedisCluster).toEqualTypeOf<
      (options: TokenCache.RedisClusterOptions) => Layer.Layer<TokenCache.TokenCache, MsalError.CacheError>
    >()
    expectTypeOf(TokenCache.layerHooks).toEqualTypeOf<
      (options?: TokenCache.MemoryOptions) => Layer.Layer<TokenCache.TokenCache, never, TokenCache.CacheHooks>
    >()
  })
})

describe("CredentialSigner", () => {
  it("the service and its constructors fail with CredentialError only", () => {
    type Signer = CredentialSigner.Service
    expectTypeOf<Signer["clientAuth"]>().toEqualTypeOf<
      (
        context: CredentialSigner.AuthContext
      ) => Effect.Effect<CredentialSigner.ClientAuthFields, MsalError.CredentialError>
    >()
    expectTypeOf<Signer["reload"]>().toEqualTypeOf<Effect.Effect<void, MsalError.CredentialError>>()
    // a managed-identity credential's signer also needs an HttpClient
    expectTypeOf(CredentialSigner.make).toEqualTypeOf<{
      (
        credential: ClientCredential.ManagedIdentityCredential,
        options?: CredentialSigner.Options
      ): Effect.Effect<Signer, MsalError.CredentialError, HttpClient.HttpClient | Scope.Scope>
      (
        credential: ClientCredential.ClientCredential,
        options?: CredentialSigner.Options
      ): Effect.Effect<Signer, MsalError.CredentialError, Scope.Scope>
    }>()
    expectTypeOf(CredentialSigner.layer).toEqualTypeOf<{
      (
        credential: ClientCredential.ManagedIdentityCredential,
        options?: CredentialSigner.Options
      ): Layer.Layer<CredentialSigner.CredentialSigner, MsalError.CredentialError, HttpClient.HttpClient>
      (
        credential: ClientCredential.ClientCredential,
        options?: CredentialSigner.Options
      ): Layer.Layer<CredentialSigner.CredentialSigner, MsalError.CredentialError>
    }>()
  })
})

describe("ManagedIdentity", () => {
  it("the service fails with MsalError; building it cannot fail and needs HttpClient and TokenCache", () => {
    type Service = ManagedIdentity.Service
    expectTypeOf<Service["acquireToken"]>().toEqualTypeOf<
      (request: ManagedIdentity.AcquireTokenRequest) => Effect.Effect<Result, Error>
    >()
    expectTypeOf<Service["source"]>().toEqualTypeOf<
      Effect.Effect<ManagedIdentity.SourceName, MsalError.InvalidRequest>
    >()
    expectTypeOf(ManagedIdentity.make).toEqualTypeOf<
      (
        options?: ManagedIdentity.Options
      ) => Effect.Effect<Service, never, HttpClient.HttpClient | TokenCache.TokenCache | Scope.Scope>
    >()
    expectTypeOf(ManagedIdentity.layer).toEqualTypeOf<
      (
        options?: ManagedIdentity.Options
      ) => Layer.Layer<ManagedIdentity.ManagedIdentity, never, HttpClient.HttpClient | TokenCache.TokenCache>
    >()
  })
})

describe("Transport and AzureIdentity", () => {
  it("Transport.layer is an HttpClient that fails with InvalidRequest (a bad proxy option)", () => {
    expectTypeOf(Transport.layer).toEqualTypeOf<
      (options?: Transport.Options) => Layer.Layer<HttpClient.HttpClient, MsalError.InvalidRequest>
    >()
  })

  it("AzureIdentity gives @azure/core-auth's types, and needs only the ConfidentialClient", () => {
    expectTypeOf(AzureIdentity.make).toEqualTypeOf<
      Effect.Effect<TokenCredential, never, ConfidentialClient.ConfidentialClient>
    >()
    expectTypeOf(AzureIdentity.toAccessToken).toEqualTypeOf<(result: Result) => AccessToken>()
    expectTypeOf(AzureIdentity.toRequest).toEqualTypeOf<
      (scopes: string | Array<string>, options?: GetTokenOptions) => Requests.ClientCredentialsRequest
    >()
    expectTypeOf(AzureIdentity.fromClient).returns.toEqualTypeOf<TokenCredential>()
  })
})

describe("Promise client", () => {
  it("constructors resolve to a Client", () => {
    expectTypeOf(MsalPromise.make).toEqualTypeOf<(options: MsalPromise.Options) => Promise<MsalPromise.Client>>()
    expectTypeOf(MsalPromise.fromEnvironment).returns.toEqualTypeOf<Promise<MsalPromise.Client>>()
    expectTypeOf(MsalPromise.fromLayer).returns.toEqualTypeOf<Promise<MsalPromise.Client>>()
  })

  it("every method of the Effect client, as a Promise of its success; tokens as strings", () => {
    type P = MsalPromise.Client
    type R = MsalPromise.AuthenticationResult
    expectTypeOf<R["accessToken"]>().toEqualTypeOf<string>()
    expectTypeOf<R["idToken"]>().toEqualTypeOf<string | undefined>()
    expectTypeOf<Omit<R, "accessToken" | "idToken">>().toEqualTypeOf<Omit<Result, "accessToken" | "idToken">>()
    expectTypeOf<keyof MsalPromise.Methods>().toEqualTypeOf<keyof Client>()
    expectTypeOf<P["acquireTokenForClient"]>().toEqualTypeOf<
      (request: Requests.ClientCredentialsRequest) => Promise<R>
    >()
    expectTypeOf<P["removeTokensForClient"]>().toEqualTypeOf<() => Promise<void>>()
    expectTypeOf<P["acquireTokenOnBehalfOf"]>().toEqualTypeOf<(request: Requests.OnBehalfOfRequest) => Promise<R>>()
    expectTypeOf<P["initiateAuthCodeFlow"]>().toEqualTypeOf<
      (request: Requests.AuthCodeFlowRequest) => Promise<AuthCodeFlow.AuthCodeFlow>
    >()
    expectTypeOf<P["acquireTokenByAuthCodeFlow"]>().toEqualTypeOf<
      (request: Requests.AuthCodeFlowRedirect) => Promise<R>
    >()
    expectTypeOf<P["acquireTokenByAuthorizationCode"]>().toEqualTypeOf<
      (request: Requests.AuthorizationCodeRequest) => Promise<R>
    >()
    expectTypeOf<P["getAuthorizationRequestUrl"]>().toEqualTypeOf<
      (request: Requests.AuthorizationUrlRequest) => Promise<string>
    >()
    expectTypeOf<P["acquireTokenByRefreshToken"]>().toEqualTypeOf<
      (request: Requests.RefreshTokenRequest) => Promise<R>
    >()
    expectTypeOf<P["acquireTokenByUsernamePassword"]>().toEqualTypeOf<
      (request: Requests.UsernamePasswordRequest) => Promise<R>
    >()
    expectTypeOf<P["acquireTokenSilent"]>().toEqualTypeOf<(request: Requests.SilentRequest) => Promise<R>>()
    expectTypeOf<P["getAccounts"]>().toEqualTypeOf<
      (request?: Requests.AccountsRequest) => Promise<ReadonlyArray<Account>>
    >()
    expectTypeOf<P["removeAccount"]>().toEqualTypeOf<(account: Account) => Promise<void>>()
    expectTypeOf<P["withSignal"]>().toEqualTypeOf<(signal: AbortSignal) => MsalPromise.Methods>()
    expectTypeOf<P["asTokenCredential"]>().toEqualTypeOf<() => MsalPromise.TokenCredential>()
    expectTypeOf<P["dispose"]>().toEqualTypeOf<() => Promise<void>>()
    expectTypeOf<ReturnType<MsalPromise.TokenCredential["getToken"]>>().toEqualTypeOf<
      Promise<MsalPromise.AccessToken | null>
    >()
  })
})
