/**
 * Bad input from untyped code (an unset environment variable, a missing or mistyped field) to
 * every public constructor is a typed `MsalError` with a message naming what is wrong: never
 * a `TypeError` or another defect, and never a synchronous throw from the Promise API.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, MsalError, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Msal from "effect-msal/promise"

const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
const AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com"

/** Untyped input, as plain JavaScript would pass it. */
const untyped = <A>(value: unknown): A => value as A

const httpClient = () => {
  const authority = Effect.runSync(TestAuthority.make())
  return TestAuthority.layerHttpClient.pipe(Layer.provide(Layer.succeed(TestAuthority.TestAuthority, authority)))
}

const good = (): Msal.Options => ({
  clientId: CLIENT_ID,
  authority: AUTHORITY,
  credential: ClientCredential.secret("s3cret"),
  httpClient: httpClient()
})

/** What `Msal.make` settles with; a synchronous throw fails the test. */
const rejection = async (options: unknown): Promise<unknown> => {
  let promise: Promise<Msal.Client>
  try {
    promise = Msal.make(untyped(options))
  } catch (error) {
    throw new Error(`Msal.make threw synchronously: ${String(error)}`)
  }
  return promise.then(async (client) => {
    await client.dispose()
    return "resolved"
  }, (error: unknown) => error)
}

const credentials: ReadonlyArray<readonly [string, () => ClientCredential.ClientCredential, RegExp]> = [
  ["secret(undefined)", () => ClientCredential.secret(untyped(undefined)), /client secret is missing.*undefined/],
  ["secret(123)", () => ClientCredential.secret(untyped(123)), /client secret is missing.*a number/],
  ["certificate(undefined)", () => ClientCredential.certificate(untyped(undefined)), /certificate needs privateKey/],
  ["certificate({})", () => ClientCredential.certificate(untyped({})), /certificate needs privateKey.*undefined/],
  [
    "certificate({ privateKey: 1 })",
    () => ClientCredential.certificate(untyped({ privateKey: 1 })),
    /certificate needs privateKey.*a number/
  ],
  [
    "certificate({ privateKey, thumbprint: 5 })",
    () => ClientCredential.certificate(untyped({ privateKey: "-----BEGIN PRIVATE KEY-----", thumbprint: 5 })),
    /thumbprint must be a string/
  ],
  ["pfx(undefined)", () => ClientCredential.pfx(untyped(undefined)), /PFX credential needs a path or bytes/],
  ["pfx({ path: 1 })", () => ClientCredential.pfx(untyped({ path: 1 })), /pfx: path must be a file path.*a number/],
  ["pfx({ bytes: 'x' })", () => ClientCredential.pfx(untyped({ bytes: "x" })), /bytes must be a Uint8Array/],
  [
    "certificateFile({})",
    () => ClientCredential.certificateFile(untyped({})),
    /certificateFile needs a path.*undefined/
  ],
  [
    "certificateFile(undefined)",
    () => ClientCredential.certificateFile(untyped(undefined)),
    /certificateFile needs a path/
  ],
  ["assertion(undefined)", () => ClientCredential.assertion(untyped(undefined)), /client assertion is missing/],
  [
    "assertionProvider(undefined)",
    () => ClientCredential.assertionProvider(untyped(undefined)),
    /assertionProvider needs an Effect.*undefined/
  ],
  [
    "assertionProvider(async fn)",
    () => ClientCredential.assertionProvider(untyped(async () => "jwt")),
    /assertionProvider needs an Effect.*a function/
  ],
  [
    "federatedTokenFile(undefined)",
    () => ClientCredential.federatedTokenFile(untyped(undefined)),
    /federatedTokenFile needs the path/
  ],
  ["no credential", () => untyped(undefined), /not a ClientCredential \(got undefined\)/],
  ["a plain string", () => untyped("s3cret"), /not a ClientCredential \(got a string\)/],
  ["an object without a tag", () => untyped({ secret: "s3cret" }), /not a ClientCredential \(got an object\)/]
]

describe("credential constructors with missing or mistyped input", () => {
  for (const [name, credential, message] of credentials) {
    it.effect(`${name}: CredentialSigner.layer fails with a CredentialError`, () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Layer.build(CredentialSigner.layer(credential())).pipe(Effect.scoped))
        expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause)).toBe(true)
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(error).toBeInstanceOf(MsalError.CredentialError)
        expect((error as MsalError.CredentialError).message).toMatch(message)
      }))

    it(`${name}: Msal.make rejects with the CredentialError`, async () => {
      const error = await rejection({ ...good(), credential: credential() })
      expect(error).toBeInstanceOf(MsalError.CredentialError)
      expect((error as Error).message).toMatch(message)
    })
  }

  it.effect("signer options: a malformed reloadEvery is a CredentialError", () =>
    Effect.gen(function*() {
      const layer = CredentialSigner.layer(ClientCredential.secret("s3cret"), untyped({ reloadEvery: "often" }))
      const error = yield* Effect.flip(Layer.build(layer).pipe(Effect.scoped))
      expect(error).toBeInstanceOf(MsalError.CredentialError)
      expect(error.message).toMatch(/reloadEvery must be a duration/)
    }))

  it("a missing secret's message never holds the value of another field", async () => {
    const error = await rejection({
      ...good(),
      credential: ClientCredential.certificate(untyped({ privateKey: 7, passphrase: "pw-123" }))
    })
    expect(String((error as Error).message)).not.toContain("pw-123")
  })
})

const clientOptions: ReadonlyArray<readonly [string, Record<string, unknown>, string, RegExp]> = [
  ["clientId undefined", { clientId: undefined }, "clientId", /non-empty string/],
  ["clientId a number", { clientId: 123 }, "clientId", /non-empty string/],
  ["timeout not a duration", { timeout: "soon" }, "timeout", /must be a duration.*a string/],
  ["attemptTimeout an object", { attemptTimeout: {} }, "attemptTimeout", /must be a duration.*an object/],
  ["azureRegionTimeout", { azureRegionTimeout: "x" }, "azureRegionTimeout", /must be a duration/],
  ["authCodeFlowLifetime", { authCodeFlowLifetime: [] }, "authCodeFlowLifetime", /must be a duration.*an array/],
  ["retry a string", { retry: "yes" }, "retry", /false or an object/],
  ["retry.maxAttempts", { retry: { maxAttempts: "3" } }, "retry.maxAttempts", /whole number/],
  ["retry.baseDelay", { retry: { baseDelay: "x" } }, "retry.baseDelay", /must be a duration/],
  ["clientCapabilities a string", { clientCapabilities: "CP1" }, "clientCapabilities", /array of strings/],
  ["clientClaims a string", { clientClaims: "x" }, "clientClaims", /object of claims/],
  ["azureRegion a number", { azureRegion: 5 }, "azureRegion", /region name/],
  ["refreshLifetimeFraction 7", { refreshLifetimeFraction: 7 }, "refreshLifetimeFraction", /between 0 and 1/],
  ["enablePiiLog a string", { enablePiiLog: "yes" }, "enablePiiLog", /true or false/],
  ["appName a number", { appName: 1 }, "appName", /must be a string/]
]

describe("client options with missing or mistyped input", () => {
  for (const [name, patch, field, message] of clientOptions) {
    it.effect(`${name}: ConfidentialClient.layer fails with an InvalidRequest naming ${field}`, () =>
      Effect.gen(function*() {
        const layer = ConfidentialClient.layer(untyped({ clientId: CLIENT_ID, authority: AUTHORITY, ...patch })).pipe(
          Layer.provide(CredentialSigner.layer(ClientCredential.secret("s3cret"))),
          Layer.provide(TokenCache.layerMemory()),
          Layer.provide(httpClient())
        )
        const error = yield* Effect.flip(Layer.build(layer).pipe(Effect.scoped))
        expect(error).toBeInstanceOf(MsalError.InvalidRequest)
        expect(error).toMatchObject({ field })
        expect(error.message).toMatch(message)
      }))

    it(`${name}: Msal.make rejects with the InvalidRequest`, async () => {
      const error = await rejection({ ...good(), ...patch })
      expect(error).toBeInstanceOf(MsalError.InvalidRequest)
      expect(error).toMatchObject({ field })
    })
  }

  it("Msal.make(undefined) and Msal.make(\"x\") reject, never throw", async () => {
    for (const options of [undefined, null, "x"]) {
      const error = await rejection(options)
      expect(error).toBeInstanceOf(MsalError.InvalidRequest)
      expect((error as Error).message).toMatch(/Msal.make needs an options object/)
    }
  })

  it("cache and httpClient must be layers", async () => {
    const cache = await rejection({ ...good(), cache: {} })
    expect(cache).toBeInstanceOf(MsalError.InvalidRequest)
    expect(cache).toMatchObject({ field: "cache" })
    const http = await rejection({ ...good(), httpClient: () => fetch })
    expect(http).toMatchObject({ _tag: "InvalidRequest", field: "httpClient" })
    await expect(Msal.fromEnvironment(untyped("x"))).rejects.toBeInstanceOf(MsalError.InvalidRequest)
  })

  it("good options still make a client", async () => {
    expect(await rejection(good())).toBe("resolved")
  })
})
