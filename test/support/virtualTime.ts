/**
 * Virtual time for tests that mix Effect's Clock with real file-system work (the file lock): a
 * discrete-event simulation. Every `Effect.sleep` and `Effect.timeout` takes no real time, and
 * yet none ends while a file-system step it races with is still running.
 */
import { Clock, Duration, Effect, Fiber } from "effect"

interface Sleeper {
  readonly end: number
  readonly wake: () => void
}

/** A Clock whose time moves only when `advance` is called. It starts at the real time. */
class EventClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private now = Date.now()
  private readonly sleepers = new Set<Sleeper>()
  readonly currentTimeMillis = Effect.sync(() => this.now)
  readonly currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())
  unsafeCurrentTimeMillis() {
    return this.now
  }
  unsafeCurrentTimeNanos() {
    return BigInt(this.now) * 1_000_000n
  }
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    const millis = Duration.toMillis(duration)
    if (millis <= 0) return Effect.yieldNow()
    return Effect.async<void>((resume) => {
      const sleeper: Sleeper = { end: this.now + millis, wake: () => resume(Effect.void) }
      this.sleepers.add(sleeper)
      return Effect.sync(() => this.sleepers.delete(sleeper))
    })
  }
  /** The earliest sleep's end (Infinity if none sleeps). */
  next(): number {
    let next = Infinity
    for (const s of this.sleepers) next = Math.min(next, s.end)
    return next
  }
  /** Moves the time to the earliest sleep's end and wakes every sleep due then. */
  advance(): void {
    const next = this.next()
    if (next === Infinity) return
    this.now = next
    for (const s of [...this.sleepers]) {
      if (s.end <= next) {
        this.sleepers.delete(s)
        s.wake()
      }
    }
  }
}

/** True while this process has a file-system request in flight (libuv's `FSReq*` handles). */
const fileSystemBusy = () => process.getActiveResourcesInfo().some((r) => r.startsWith("FSReq"))

/** The rest of this turn of Node's event loop: I/O callbacks and the microtasks they start. */
const immediate = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** A timer turn: Effect's scheduler, when it yields to timers, has run before it ends. */
const timer = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 0)))

/**
 * Runs `effect` on a virtual clock that moves on only when nothing else can happen: when no
 * file-system request is in flight (checked again after a timer turn), the clock is set to the
 * end of the earliest pending sleep, and the fibers due then run — as on a machine whose file
 * system is very slow. The waiting here is on real I/O, never on a fixed time.
 *
 * Fails (and interrupts `effect`) when it would take longer than `within` of virtual time: what
 * a live test's timeout bounds, such as a wait that ends only at some long timeout, stays
 * bounded.
 */
export const eventDriven = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  within: Duration.DurationInput
): Effect.Effect<A, E | Error, R> =>
  Effect.gen(function*() {
    const clock = new EventClock()
    const deadline = clock.unsafeCurrentTimeMillis() + Duration.toMillis(within)
    const fiber = yield* Effect.fork(Effect.withClock(effect, clock))
    for (let turns = 0; fiber.unsafePoll() === null; turns++) {
      // while the file system works, mostly the cheap turn; now and then a timer turn, so that
      // the busy loop does not keep a core from the threads that do the work
      yield* (turns % 8 === 7 ? timer : immediate)
      if (fileSystemBusy()) continue
      yield* timer
      if (fileSystemBusy() || fiber.unsafePoll() !== null) continue
      if (clock.next() > deadline && clock.next() !== Infinity) {
        yield* Fiber.interrupt(fiber)
        return yield* Effect.fail(new Error(`not done within ${Duration.format(within)} of virtual time`))
      }
      clock.advance()
    }
    return yield* Fiber.join(fiber)
  })
