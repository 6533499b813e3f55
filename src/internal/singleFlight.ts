import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"

/** @internal */
export interface SingleFlight<A, E> {
  /** Runs `work` unless work for `key` is already running, and waits for its outcome. */
  readonly run: <R>(key: string, work: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly isRunning: (key: string) => boolean
}

interface Flight<A, E> {
  readonly deferred: Deferred.Deferred<A, E>
  fiber: Fiber.RuntimeFiber<void> | undefined
  waiters: number
}

/**
 * Joins concurrent work by key. The work runs in a fiber forked into the given scope (the
 * client layer's), so a waiter that is interrupted, or times out, leaves the other waiters
 * unaffected; when the last waiter is gone, the work itself is interrupted (which aborts its
 * HTTP request). Nothing is cached once the work completes.
 *
 * Check-and-insert is synchronous, so two fibers can never both start work for one key.
 * @internal
 */
export const make = <A, E>(scope: Scope.Scope): SingleFlight<A, E> => {
  const inflight = new Map<string, Flight<A, E>>()

  const wait = (key: string, flight: Flight<A, E>): Effect.Effect<A, E> =>
    Deferred.await(flight.deferred).pipe(
      Effect.onInterrupt(() =>
        Effect.suspend(() => {
          flight.waiters--
          if (flight.waiters > 0 || flight.fiber === undefined) return Effect.void
          if (inflight.get(key) === flight) inflight.delete(key)
          return Effect.asVoid(Effect.forkIn(flight.fiber.interruptAsFork(FiberId.none), scope))
        })
      )
    )

  const run = <R>(key: string, work: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const running = inflight.get(key)
      if (running !== undefined) {
        running.waiters++
        return wait(key, running)
      }
      const flight: Flight<A, E> = { deferred: Deferred.unsafeMake<A, E>(FiberId.none), fiber: undefined, waiters: 1 }
      inflight.set(key, flight)
      // registering the flight and forking its work must not be split by an interruption:
      // a registered flight without work would make every later caller wait for ever
      return Effect.uninterruptibleMask((restore) =>
        restore(work).pipe(
          Effect.intoDeferred(flight.deferred),
          Effect.asVoid,
          Effect.ensuring(Effect.sync(() => {
            if (inflight.get(key) === flight) inflight.delete(key)
          })),
          Effect.forkIn(scope),
          Effect.flatMap((fiber) => {
            flight.fiber = fiber
            return restore(wait(key, flight))
          })
        )
      )
    })
  return { run, isRunning: (key) => inflight.has(key) }
}
