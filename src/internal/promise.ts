import type * as Effect from "effect/Effect"
import type * as RuntimeNs from "effect/Runtime"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import { InvalidRequest } from "../MsalError.js"
import { parseLevel } from "./logging.js"
import { kindOf } from "./options.js"

import type { SignalLike } from "../Promise.js"

export type { SignalLike }

/** The rejection for an aborted call: an `Error` named `AbortError`, as fetch and the Azure SDK use. @internal */
export const abortError = (): Error => {
  const error = new Error("The operation was aborted")
  error.name = "AbortError"
  return error
}

/**
 * The rejection for a call on a client whose owner released it (a disposed Promise client, a
 * credential used after its layer's scope closed): an `InvalidRequest` that says so. @internal
 */
export const closedError = (how = "its layer's scope closed or its runtime was disposed"): InvalidRequest =>
  new InvalidRequest({
    description: `the client was closed (${how}): make a new one, or keep it open while it is in use`
  })

/**
 * What a failed run rejects with: the typed failure itself (an `MsalError` instance), an
 * `AbortError` for an interruption, else the defect (wrapped in an `Error` when it is not one).
 * Never a `FiberFailure` wrapper or a span-carrying proxy. @internal
 */
export const rejectionOf = (cause: Cause.Cause<unknown>): unknown => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    // the failure as it was created, not the proxy that carries its span
    const value = Cause.originalError(failure.value)
    return value instanceof Error ? value : new Error(String(value), { cause: value })
  }
  if (Cause.isInterruptedOnly(cause)) return abortError()
  const defect = Cause.originalError(Cause.squash(cause))
  return defect instanceof Error ? defect : new Error(String(defect), { cause: defect })
}

/**
 * Runs an effect as a Promise that settles with its value or `rejectionOf` its failure;
 * aborting the signal interrupts the fiber (an `AbortError`); any other interruption means the
 * client was closed under the call (`closedError`). @internal
 */
export const run = <A, E>(
  runtime: RuntimeNs.Runtime<never>,
  effect: Effect.Effect<A, E>,
  signal?: SignalLike | undefined
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError())
      return
    }
    const fiber = Runtime.runFork(runtime)(effect)
    const onAbort = () => fiber.unsafeInterruptAsFork(FiberId.none)
    signal?.addEventListener("abort", onAbort)
    fiber.addObserver((exit) => {
      signal?.removeEventListener("abort", onAbort)
      if (Exit.isSuccess(exit)) resolve(exit.value)
      // interrupted, but not by the caller: the client's scope or runtime is gone
      else if (Cause.isInterruptedOnly(exit.cause) && signal?.aborted !== true) reject(closedError())
      else reject(rejectionOf(exit.cause))
    })
  })

/**
 * A method's value for Promise users: a token result's `accessToken` and `idToken` as strings
 * (as msal-node returns them); anything else unchanged. @internal
 */
export const settled = (value: unknown): unknown => {
  if (!Predicate.isRecord(value) || !Redacted.isRedacted(value.accessToken)) return value
  const idToken = value.idToken
  return {
    ...value,
    accessToken: Redacted.value(value.accessToken),
    ...(Redacted.isRedacted(idToken) ? { idToken: Redacted.value(idToken as Redacted.Redacted<string>) } : {})
  }
}

/**
 * The Promise constructors' own options (the client's options are checked by the client):
 * an object, whose `cache` and `httpClient`, when given, are layers. @internal
 */
export const checkOptions = (options: unknown, constructor: string): InvalidRequest | undefined => {
  if (!Predicate.isRecord(options)) {
    return new InvalidRequest({
      field: "options",
      description: `${constructor} needs an options object (got ${kindOf(options)})`
    })
  }
  for (const field of ["cache", "httpClient"] as const) {
    const value = options[field]
    if (value !== undefined && !Layer.isLayer(value)) {
      return new InvalidRequest({
        field,
        description: `must be a Layer (for example TokenCache.layerMemory()) (got ${kindOf(value)})`
      })
    }
  }
  const logger = options.logger
  if (logger !== undefined) {
    if (!Predicate.isRecord(logger)) {
      return new InvalidRequest({ field: "logger", description: `must be an object (got ${kindOf(logger)})` })
    }
    if (logger.level !== undefined && parseLevel(logger.level) === undefined) {
      return new InvalidRequest({ field: "logger.level", description: "must be one of error, warning, info, verbose" })
    }
    if (logger.callback !== undefined && typeof logger.callback !== "function") {
      return new InvalidRequest({
        field: "logger.callback",
        description: `must be a function (level, message) => void (got ${kindOf(logger.callback)})`
      })
    }
  }
  return undefined
}
