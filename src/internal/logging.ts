import * as Cause from "effect/Cause"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"

/**
 * The levels of the Azure SDKs' `AZURE_LOG_LEVEL`, most severe first: `error`, `warning`,
 * `info`, `verbose` (@azure/logger; "Configure logging in the Azure SDK libraries for
 * JavaScript", learn.microsoft.com/azure/developer/javascript/sdk/debug-client-libraries).
 * @internal
 */
import type { LogLevel as Level } from "../Promise.js"

export type { Level }

/** The variable the Azure SDKs read to turn logging on (to stderr). @internal */
export const AZURE_LOG_LEVEL = "AZURE_LOG_LEVEL"

const LEVELS: ReadonlySet<string> = new Set(["error", "warning", "info", "verbose"])

/** A level name (any case), or `undefined` for an absent or unknown one. @internal */
export const parseLevel = (value: unknown): Level | undefined => {
  if (typeof value !== "string") return undefined
  const name = value.trim().toLowerCase()
  return LEVELS.has(name) ? name as Level : undefined
}

/** The least severe Effect level a `Level` lets through. @internal */
export const minimumOf = (level: Level): LogLevel.LogLevel =>
  level === "error"
    ? LogLevel.Error
    : level === "warning"
    ? LogLevel.Warning
    : level === "info"
    ? LogLevel.Info
    : LogLevel.All

/** The `Level` of an Effect log line: Fatal and Error are `error`, Debug and Trace `verbose`. @internal */
export const levelOf = (level: LogLevel.LogLevel): Level =>
  LogLevel.greaterThanEqual(level, LogLevel.Error)
    ? "error"
    : LogLevel.greaterThanEqual(level, LogLevel.Warning)
    ? "warning"
    : LogLevel.greaterThanEqual(level, LogLevel.Info)
    ? "info"
    : "verbose"

const text = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * One log line as text: the message parts, then `key=value` annotations and spans, then the
 * cause's first line when there is one. @internal
 */
export const format = (options: Logger.Logger.Options<unknown>): string => {
  const parts = Array.isArray(options.message) ? options.message.map(text) : [text(options.message)]
  for (const [key, value] of HashMap.toEntries(options.annotations)) parts.push(`${key}=${text(value)}`)
  for (const span of List.toArray(options.spans)) parts.push(`span=${span.label}`)
  if (!Cause.isEmpty(options.cause)) {
    const squashed = Cause.squash(options.cause)
    parts.push(`cause=${text(squashed instanceof Error ? squashed.message : squashed)}`)
  }
  return parts.join(" ")
}

/** Where log lines go: a function of the level and the formatted line. @internal */
export type Sink = (level: Level, message: string) => void

/** The Azure SDKs' default: one line on stderr, prefixed with the package name. @internal */
export const stderrSink: Sink = (level, message) => {
  process.stderr.write(`effect-msal:${level} ${message}\n`)
}

/**
 * Replaces Effect's default logger (which writes to stdout) for the effects it is provided
 * to: with a sink and a level, lines at that level or more severe go to the sink; without,
 * nothing is written. Other loggers added by the application stay. @internal
 */
export const layer = (
  config: { readonly level: Level; readonly sink: Sink } | undefined
): Layer.Layer<never> =>
  config === undefined
    ? Logger.replace(Logger.defaultLogger, Logger.none)
    : Layer.merge(
      Logger.replace(
        Logger.defaultLogger,
        Logger.make((options) => {
          try {
            config.sink(levelOf(options.logLevel), format(options))
          } catch {
            // a failing log callback must not fail the request that logged
          }
        })
      ),
      Logger.minimumLogLevel(minimumOf(config.level))
    )
