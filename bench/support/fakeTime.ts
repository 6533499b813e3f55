/**
 * Simulated wall-clock time: `Date` (the constructor without arguments and `Date.now`) stands
 * still at the moment of `install` and moves only by `advance`, so that real time spent by the
 * run does not leak into the simulation.
 */
export interface FakeTime {
  /** Moves simulated time forward. */
  readonly advance: (millis: number) => void
  readonly offsetMillis: () => number
  readonly uninstall: () => void
}

export const install = (): FakeTime => {
  const Real = globalThis.Date
  const base = Real.now()
  let offset = 0
  const now = (): number => base + offset
  globalThis.Date = new Proxy(Real, {
    construct: (target, args: Array<unknown>) =>
      args.length === 0 ? new target(now()) : Reflect.construct(target, args) as Date,
    apply: () => new Real(now()).toString(),
    get: (target, property, receiver) => (property === "now" ? now : Reflect.get(target, property, receiver))
  })
  return {
    advance: (millis) => {
      offset += millis
    },
    offsetMillis: () => offset,
    uninstall: () => {
      globalThis.Date = Real
    }
  }
}
