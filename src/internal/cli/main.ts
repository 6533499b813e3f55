import { Args, Command, Options, ValidationError } from "@effect/cli"
import type * as Cause from "effect/Cause"
import * as C from "effect/Cause"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { VERSION } from "../version.js"
import * as Output from "./output.js"
import * as Runtime from "./runtime.js"

/** A command line that parses but makes no sense (exit status 2). @internal */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** Each command's code is loaded when it runs, so `--help` and usage errors stay fast. */
const lazy = <M, E>(load: () => Promise<M>, run: (module: M) => Effect.Effect<void, E>): Effect.Effect<void, E> =>
  Effect.flatMap(Effect.promise(load), run)

const seconds = (name: string, description: string) =>
  Options.integer(name).pipe(Options.withDescription(description), Options.optional)

const demo = Command.make("demo", {}, () => lazy(() => import("../demo.js"), (m) => Effect.asVoid(m.program))).pipe(
  Command.withDescription(
    "A walk-through of the library against the embedded test authority on 127.0.0.1: what comes from the network, what from the cache."
  )
)

const token = Command.make("token", {
  scope: Options.text("scope").pipe(
    Options.atLeast(1),
    Options.withDescription("A scope to request, usually <resource>/.default; repeat for more.")
  ),
  tenant: Options.text("tenant").pipe(
    Options.withDescription("The tenant (id or domain); overrides AZURE_TENANT_ID."),
    Options.optional
  ),
  clientId: Options.text("client-id").pipe(
    Options.withDescription("The application (client) id; overrides AZURE_CLIENT_ID."),
    Options.optional
  ),
  authorityHost: Options.text("authority-host").pipe(
    Options.withDescription("The authority host URL; overrides AZURE_AUTHORITY_HOST."),
    Options.optional
  ),
  cacheFile: Options.text("cache-file").pipe(
    Options.withDescription("Keep tokens in this file (MSAL format, mode 0600) between runs."),
    Options.optional
  ),
  showToken: Options.boolean("show-token").pipe(Options.withDescription("Also print the access token itself.")),
  managedIdentity: Options.boolean("managed-identity").pipe(
    Options.withDescription(
      "Get the token from the platform's managed identity (IMDS, App Service, Azure Arc, Cloud Shell, Service Fabric, " +
        "Azure ML, detected from the environment) instead of a client credential: one --scope, the resource; " +
        "--client-id names a user-assigned identity."
    )
  )
}, (args) => lazy(() => import("./token.js"), (m) => m.run(args))).pipe(
  Command.withDescription(
    "Acquire an app token (client credentials) with the configuration from the environment " +
      "(AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET, …) and the flags; prints a JSON summary. " +
      "The token itself is printed only with --show-token."
  )
)

const serve = Command.make("serve", {
  port: Options.integer("port").pipe(
    Options.withDescription("The port on 127.0.0.1 (default: a free one)."),
    Options.optional
  ),
  expiresIn: seconds("expires-in", "expires_in of issued tokens, in seconds (default 3599)."),
  refreshIn: seconds("refresh-in", "refresh_in of issued tokens, in seconds (default: not sent)."),
  arcKeyDirectory: Options.text("arc-key-directory").pipe(
    Options.withDescription(
      "Where the Azure Arc endpoint writes its challenge key files (Arc answers 400 without it)."
    ),
    Options.optional
  )
}, (args) => {
  const bad = [["--port", args.port, 0, 65535], ["--expires-in", args.expiresIn, 1, 1e9], [
    "--refresh-in",
    args.refreshIn,
    1,
    1e9
  ]]
    .find(([, value, min, max]) =>
      Option.exists(value as Option.Option<number>, (n) => n < (min as number) || n > (max as number))
    )
  return bad === undefined
    ? lazy(() => import("./serve.js"), (m) => m.run(args))
    : Effect.fail(
      new UsageError({ message: `${String(bad[0])} must be between ${String(bad[2])} and ${String(bad[3])}` })
    )
}).pipe(Command.withDescription("Serve the test authority (a local Entra ID stand-in) on 127.0.0.1 until Ctrl+C."))

const authority = Command.make("authority").pipe(
  Command.withDescription("The test authority."),
  Command.withSubcommands([serve])
)

const inspect = Command.make("inspect", {
  file: Args.text({ name: "FILE" }).pipe(Args.withDescription("A serialised MSAL token cache (JSON).")),
  json: Options.boolean("json").pipe(Options.withDescription("Print the summary as JSON."))
}, (args) => lazy(() => import("./inspect.js"), (m) => m.run(args))).pipe(
  Command.withDescription(
    "Summarise a serialised MSAL token cache: entries by type, tenant, client and expiry. Never prints a secret."
  )
)

const cache = Command.make("cache").pipe(
  Command.withDescription("Token cache files."),
  Command.withSubcommands([inspect])
)

const root = Command.make(
  "effect-msal",
  {},
  () =>
    Effect.fail(
      new UsageError({ message: "choose a command: demo, token, authority serve, cache inspect (see --help)" })
    )
).pipe(
  Command.withDescription("OAuth 2.0 tokens for confidential clients from Microsoft Entra ID."),
  Command.withSubcommands([demo, token, authority, cache])
)

const cli = Command.run(root, { name: "effect-msal", version: VERSION })

/** The exit status for a failure, after printing it as one line on stderr. */
const report = (cause: Cause.Cause<unknown>): Effect.Effect<number> => {
  const failure = C.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = C.originalError(failure.value)
    // @effect/cli has printed its own message for a usage error already
    if (ValidationError.isValidationError(error)) return Effect.succeed(Runtime.EXIT_USAGE)
    if (error instanceof UsageError)
      return Effect.as(Console.error(`effect-msal: ${error.message}`), Runtime.EXIT_USAGE)
    return Effect.as(Console.error(`effect-msal: ${Runtime.describe(error)}`), 1)
  }
  return Effect.as(Console.error(`effect-msal: unexpected error: ${Runtime.describe(C.squash(cause))}`), 1)
}

/** Runs the CLI with these arguments (`process.argv`); yields the exit status. @internal */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  cli(argv).pipe(
    Effect.as(0),
    Effect.catchAllCause((cause) => C.isInterruptedOnly(cause) ? Effect.succeed(0) : report(cause)),
    Output.withConventions,
    Effect.provide(Runtime.layer)
  )
