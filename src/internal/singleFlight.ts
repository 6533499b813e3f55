import type { Scope } from "effect"
import { Deferred, Effect, FiberId } from "effect"

/** @internal */
export interface SingleFlight<A, E> {
  /** Runs `work` unless work for `key` is already running, and waits for its outcome. */
  readonly run: <R>(key: string, work: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly isRunning: (key: string) => boolean
}

/**
 * Joins concurrent work by key. The work runs in a fiber forked into the given scope (the
 * client layer's), so interrupting the caller that started it, or any other waiter, leaves the
 * other waiters unaffected; nothing is cached once the work completes.
 *
 * Check-and-insert is synchronous, so two fibers can never both start work for one key.
 * @internal
 */
export const make = <A, E>(scope: Scope.Scope): SingleFlight<A, E> => {
  const inflight = new Map<string, Deferred.Deferred<A, E>>()
  const run = <R>(key: string, work: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const running = inflight.get(key)
      if (running !== undefined) return Deferred.await(running)
      const deferred = Deferred.unsafeMake<A, E>(FiberId.none)
      inflight.set(key, deferred)
      return work.pipe(
        Effect.intoDeferred(deferred),
        Effect.ensuring(Effect.sync(() => {
          if (inflight.get(key) === deferred) inflight.delete(key)
        })),
        Effect.forkIn(scope),
        Effect.zipRight(Deferred.await(deferred))
      )
    })
  return { run, isRunning: (key) => inflight.has(key) }
}
