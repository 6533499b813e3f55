/**
 * What the CLI needs from the platform, without `@effect/platform-node` (whose peers drag in
 * `@effect/cluster`, `@effect/rpc`, `@effect/sql` and a native file watcher): a `Terminal`
 * on process.stdin/stdout for `@effect/cli`'s prompts (`--wizard`), `Path`, a `FileSystem`
 * that the commands never use (they read files with node:fs), and a `runMain` that interrupts
 * on SIGINT/SIGTERM and sets the exit code.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Terminal from "@effect/platform/Terminal"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Readline from "node:readline"
import { isMsalError } from "../../MsalError.js"

const terminal: Terminal.Terminal = {
  columns: Effect.sync(() => process.stdout.columns ?? 80),
  rows: Effect.sync(() => process.stdout.rows ?? 24),
  isTTY: Effect.sync(() => process.stdin.isTTY === true),
  display: (text) =>
    Effect.async<void>((resume) => {
      process.stdout.write(text, () => resume(Effect.void))
    }),
  readLine: Effect.async<string, Terminal.QuitException>((resume) => {
    const rl = Readline.createInterface({ input: process.stdin })
    let done = false
    rl.once("line", (line) => {
      done = true
      rl.close()
      resume(Effect.succeed(line))
    })
    rl.once("close", () => {
      if (!done) resume(Effect.fail(new Terminal.QuitException()))
    })
    return Effect.sync(() => rl.close())
  }),
  readInput: Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<Terminal.UserInput>()
    const rl = Readline.createInterface({ input: process.stdin, escapeCodeTimeout: 50 })
    Readline.emitKeypressEvents(process.stdin, rl)
    const raw = process.stdin.isTTY === true
    if (raw) process.stdin.setRawMode(true)
    const onKey = (input: string | undefined, key: Readline.Key | undefined) => {
      mailbox.unsafeOffer({
        input: Option.fromNullable(input),
        key: { name: key?.name ?? "", ctrl: key?.ctrl ?? false, meta: key?.meta ?? false, shift: key?.shift ?? false }
      })
    }
    process.stdin.on("keypress", onKey)
    // end of input (a closed pipe, Ctrl+D): the prompt ends instead of waiting forever
    rl.once("close", () => mailbox.unsafeDone(Exit.void))
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        process.stdin.off("keypress", onKey)
        if (raw) process.stdin.setRawMode(false)
        rl.close()
      })
    )
    return mailbox
  })
}

/** `FileSystem`, `Path` and `Terminal`: what `@effect/cli` requires. @internal */
export const layer: Layer.Layer<FileSystem.FileSystem | Path.Path | Terminal.Terminal> = Layer.mergeAll(
  FileSystem.layerNoop({}),
  Path.layer,
  Layer.succeed(Terminal.Terminal, terminal)
)

/** Exit status for a usage error (a bad flag or argument). @internal */
export const EXIT_USAGE = 2

const firstLine = (s: string): string => s.split(/\r?\n/, 1)[0] ?? ""

/** The variables a `ConfigError` is about: unset ones, and what is wrong with the others. */
const describeConfig = (error: ConfigError.ConfigError): string => {
  const missing = new Set<string>()
  const problems = new Map<string, string>()
  const notes = new Set<string>()
  const visit = (e: ConfigError.ConfigError): void => {
    switch (e._op) {
      case "And":
      case "Or":
        visit(e.left)
        visit(e.right)
        return
      case "MissingData": {
        const name = e.path.join("_")
        // the provider's own wording ("Expected X to exist in …") adds nothing to "not set"
        if (e.message.startsWith("Expected ")) missing.add(name)
        else notes.add(firstLine(e.message))
        return
      }
      default:
        problems.set(e.path.join("_"), e.message)
    }
  }
  visit(error)
  for (const name of problems.keys()) missing.delete(name)
  return [
    ...Array.from(missing, (name) => `${name} is not set`),
    ...Array.from(problems, ([name, message]) => `${name}: ${firstLine(message)}`),
    ...notes
  ].join("; ")
}

/**
 * One line for a failure, never a stack trace: `MsalError`s by tag and message, configuration
 * errors by the variable they name, anything else by its message. @internal
 */
export const describe = (error: unknown): string => {
  if (isMsalError(error)) return `${error._tag}: ${firstLine(error.message)}`
  if (ConfigError.isConfigError(error)) return `configuration: ${describeConfig(error)}`
  if (error instanceof Error) return firstLine(error.message)
  return firstLine(String(error))
}

/**
 * Runs the CLI, whose effect yields its exit status; SIGINT or SIGTERM interrupts it (its
 * finalizers run: servers close, files are written) and the process exits 0. @internal
 */
export const runMain = (effect: Effect.Effect<number>): void => {
  const fiber = Effect.runFork(effect)
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
  const onSignal = () => {
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    clearInterval(keepAlive)
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
    const code = Exit.isSuccess(exit) ? exit.value : 0
    // exit once stdout has been written out (pipes are asynchronous on some platforms)
    process.stdout.write("", () => process.exit(code))
  })
}
