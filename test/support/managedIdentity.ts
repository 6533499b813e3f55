import { FetchHttpClient } from "@effect/platform"
import type { Scope } from "effect"
import { Chunk, ConfigProvider, Effect, Layer, TestClock } from "effect"
import { ManagedIdentity, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Arc from "../../src/internal/managedIdentity/arc.js"

export const ARM = "https://management.azure.com"
export const IDENTITY_HEADER = "test-identity-header"
export const MSI_SECRET = "test-msi-secret"

/** Environments naming each source, with `base` the endpoint's origin. */
export const environments = (base: string) => ({
  Imds: { AZURE_POD_IDENTITY_AUTHORITY_HOST: base },
  AppService: { IDENTITY_ENDPOINT: `${base}/msi/token`, IDENTITY_HEADER },
  ServiceFabric: {
    IDENTITY_ENDPOINT: `${base}/metadata/identity/oauth2/token`,
    IDENTITY_HEADER,
    IDENTITY_SERVER_THUMBPRINT: "0123456789abcdef0123456789abcdef01234567"
  },
  MachineLearning: { MSI_ENDPOINT: `${base}/msi/token`, MSI_SECRET },
  CloudShell: { MSI_ENDPOINT: `${base}/oauth2/token` },
  AzureArc: { IDENTITY_ENDPOINT: `${base}/metadata/identity/oauth2/token`, IMDS_ENDPOINT: base }
})

/** Runs `effect` with these environment variables as its `ConfigProvider`. */
export const withEnvironment = (vars: Readonly<Record<string, string>>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.withConfigProvider(effect, ConfigProvider.fromMap(new Map(Object.entries(vars))))

/** Azure Arc's paths pointed at `directory` (with a trailing slash). */
export const withArcDirectory = (directory: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, Arc.Platform, { tokensDirectory: directory, himdsPath: undefined, pathStyle: "posix" })

/** A temporary directory (trailing slash), removed with the scope. */
export const tempDirectory: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "mi-test-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => `${dir}/`))

/** The service, a memory cache and an in-process authority, all fresh. */
export const inProcess = (options?: ManagedIdentity.Options, settings?: Partial<TestAuthority.Settings>) =>
  ManagedIdentity.layer(options).pipe(
    Layer.provideMerge(TokenCache.layerMemory()),
    Layer.provide(TestAuthority.layerHttpClient),
    Layer.provideMerge(TestAuthority.layer(settings))
  )

/** The service over real HTTP (fetch) with a memory cache. */
export const overHttp = (options?: ManagedIdentity.Options) =>
  ManagedIdentity.layer(options).pipe(
    Layer.provideMerge(TokenCache.layerMemory()),
    Layer.provide(FetchHttpClient.layer)
  )

export const mi = ManagedIdentity.ManagedIdentity
export const acquire = (request: ManagedIdentity.AcquireTokenRequest) =>
  Effect.flatMap(mi, (m) => m.acquireToken(request))
export const requests = Effect.flatMap(TestAuthority.TestAuthority, (a) => a.requests)

const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))

/** Polls `condition` in real time (every 2 ms, for at most 20 s). */
export const eventually = <E, R>(condition: Effect.Effect<boolean, E, R>): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000; i++) {
      if (yield* condition) return
      yield* realPause
    }
    return yield* Effect.fail(new Error("condition not met within 20 seconds"))
  })

/**
 * Waits (in real time) until a fiber sleeps until `millis` from the test clock's now: a fiber
 * that got an answer over the in-process HTTP client may still be reading it when the test
 * moves on, so moving the clock before its sleep is registered would skip that sleep.
 */
export const untilSleeping = (millis: number) =>
  eventually(
    Effect.map(
      Effect.all([TestClock.currentTimeMillis, TestClock.sleeps()]),
      ([now, sleeps]) => Chunk.some(sleeps, (t) => t === now + millis)
    )
  )

/** Waits until a fiber sleeps until `millis` from the test clock's now, then moves the clock there. */
export const advanceWhenSleeping = (millis: number) =>
  Effect.zipRight(untilSleeping(millis), TestClock.adjust(`${millis} millis`))
