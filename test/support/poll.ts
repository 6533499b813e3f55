import { Duration, Effect } from "effect"

/**
 * Waits until `condition` holds, checking every `every` (default 10 ms) of live time; fails
 * with `what` once `within` has passed. For waiting on work that runs off the caller's path
 * (background refreshes) in live-clock tests, instead of a fixed sleep.
 */
export const until = <E, R>(
  what: string,
  condition: Effect.Effect<boolean, E, R>,
  options: { readonly within: Duration.DurationInput; readonly every?: Duration.DurationInput }
): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(options.within)
    while (!(yield* condition)) {
      if (Date.now() > deadline)
        return yield* Effect.fail(new Error(`not true within ${Duration.format(options.within)}: ${what}`))
      yield* Effect.sleep(options.every ?? "10 millis")
    }
  })
