import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Logging from "../logging.js"

/** ANSI escape sequences (SGR colours and styles, and other CSI sequences). */
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g

/** Text without its ANSI escape sequences. @internal */
export const stripAnsi = (text: string): string => text.replace(ANSI, "")

/**
 * Whether output may carry colours: never when `NO_COLOR` is set to anything but the empty
 * string (no-color.org); always when `FORCE_COLOR` is set (and not `0`); otherwise only on a
 * terminal, never into a pipe or a file. @internal
 */
export const colorEnabled = (env: {
  readonly noColor: Option.Option<string>
  readonly forceColor: Option.Option<string>
  readonly isTTY: boolean
}): boolean => {
  if (Option.isSome(env.noColor) && env.noColor.value !== "") return false
  if (Option.isSome(env.forceColor) && env.forceColor.value !== "0") return true
  return env.isTTY
}

const plain = (args: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  args.map((arg) => (typeof arg === "string" ? stripAnsi(arg) : arg))

/** A console whose text loses its ANSI sequences. @internal */
export const plainConsole = (console: Console.Console): Console.Console => ({
  ...console,
  log: (...args) => console.log(...plain(args)),
  error: (...args) => console.error(...plain(args)),
  warn: (...args) => console.warn(...plain(args)),
  info: (...args) => console.info(...plain(args)),
  debug: (...args) => console.debug(...plain(args))
})

/**
 * The CLI's output conventions around a run: colours only where `colorEnabled` allows
 * (`@effect/cli` renders its help and errors with ANSI styles), and log lines (all levels that
 * `--log-level` lets through) as logfmt on stderr, so stdout carries only the command's output
 * (the JSON of `token`), at the level `AZURE_LOG_LEVEL` names unless `--log-level` is given. @internal
 */
export const withConventions = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const env = yield* Config.all({
      noColor: Config.option(Config.string("NO_COLOR")),
      forceColor: Config.option(Config.string("FORCE_COLOR")),
      azureLogLevel: Config.option(Config.string(Logging.AZURE_LOG_LEVEL))
    }).pipe(Effect.orElseSucceed(() => ({
      noColor: Option.none<string>(),
      forceColor: Option.none<string>(),
      azureLogLevel: Option.none<string>()
    })))
    const color = colorEnabled({ ...env, isTTY: process.stdout.isTTY === true })
    // AZURE_LOG_LEVEL sets the level as in the Azure SDKs; --log-level, applied inside, wins
    const level = Logging.parseLevel(Option.getOrUndefined(env.azureLogLevel))
    const leveled = level === undefined ? effect : Logger.withMinimumLogLevel(effect, Logging.minimumOf(level))
    const logged = Effect.provide(
      leveled,
      Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))
    )
    return yield* (color
      ? logged
      : Console.consoleWith((console) => Console.withConsole(logged, plainConsole(console))))
  })
