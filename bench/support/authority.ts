/** The local authority both libraries talk to: `TestAuthority.serve()` on 127.0.0.1. */
import type { Duration } from "effect"
import { Effect, Exit, Scope } from "effect"
import * as TestAuthority from "effect-msal/TestAuthority"

export interface LocalAuthority {
  readonly url: string
  readonly configure: (
    settings: { readonly latency?: Duration.DurationInput; readonly expiresIn?: number }
  ) => Promise<void>
  /** Forgets recorded requests and issued tokens. */
  readonly reset: () => Promise<void>
  /**
   * Token-endpoint POSTs received since the last reset (only those for `scope` when given),
   * and their distinct client assertions.
   */
  readonly tokenRequests: (scope?: string) => Promise<{ readonly count: number; readonly distinctAssertions: number }>
  /** Every request received since the last reset. */
  readonly requestCount: () => Promise<number>
  readonly close: () => Promise<void>
}

export const start = async (): Promise<LocalAuthority> => {
  const authority = await Effect.runPromise(TestAuthority.make())
  const scope = await Effect.runPromise(Scope.make())
  const server = await Effect.runPromise(
    TestAuthority.serve().pipe(
      Effect.provideService(TestAuthority.TestAuthority, authority),
      Scope.extend(scope)
    )
  )
  return {
    url: server.url,
    configure: (settings) => Effect.runPromise(authority.configure(settings)),
    reset: () => Effect.runPromise(authority.reset),
    tokenRequests: (scope) =>
      Effect.runPromise(
        Effect.map(authority.tokenRequests, (all) => {
          const requests = all.filter((r) => scope === undefined || r.form.scope === scope)
          const assertions = requests.flatMap((
            r
          ) => (r.form.client_assertion === undefined ? [] : [r.form.client_assertion]))
          return { count: requests.length, distinctAssertions: new Set(assertions).size }
        })
      ),
    requestCount: () => Effect.runPromise(Effect.map(authority.requests, (r) => r.length)),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
