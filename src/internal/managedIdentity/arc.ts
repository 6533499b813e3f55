/**
 * Azure Arc's key file: the one secret of the Arc flow, read only from the agent's token
 * directory and only when small.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type { MsalError } from "../../MsalError.js"
import { CredentialError, NetworkError } from "../../MsalError.js"

/** Key files larger than this are refused before being read (msal-node `AZURE_ARC_SECRET_FILE_MAX_SIZE_BYTES`; MSAL Python 4 KB). @internal */
export const MAX_KEY_FILE_BYTES = 4096

/**
 * Where the Arc agent lives on this machine: its token directory, and its `himds`
 * executable whose presence makes Arc the source (msal-node `AzureArc.ts`
 * `SUPPORTED_AZURE_ARC_PLATFORMS`, `AZURE_ARC_FILE_DETECTION`; MSAL Python
 * `_supported_arc_platforms_and_their_prefixes`, `_get_arc_endpoint`). `undefined` on a
 * platform Arc does not support. Tests replace it to use a temporary directory.
 * @internal
 */
export interface ArcPlatform {
  readonly tokensDirectory: string | undefined
  readonly himdsPath: string | undefined
  readonly pathStyle: "posix" | "win32"
}

const defaultPlatform = (): ArcPlatform => {
  switch (process.platform) {
    case "linux":
      return {
        tokensDirectory: "/var/opt/azcmagent/tokens/",
        himdsPath: "/opt/azcmagent/bin/himds",
        pathStyle: "posix"
      }
    case "win32":
      return {
        tokensDirectory: `${process.env["ProgramData"] ?? "C:\\ProgramData"}\\AzureConnectedMachineAgent\\Tokens\\`,
        himdsPath: `${process.env["ProgramFiles"] ?? "C:\\Program Files"}\\AzureConnectedMachineAgent\\himds.exe`,
        pathStyle: "win32"
      }
    default:
      return { tokensDirectory: undefined, himdsPath: undefined, pathStyle: "posix" }
  }
}

/** The Arc agent's paths; a context reference so tests can point it elsewhere. @internal */
export class Platform extends Context.Reference<Platform>()("effect-msal/internal/managedIdentity/ArcPlatform", {
  defaultValue: defaultPlatform
}) {}

/** Whether the Arc agent is installed (its `himds` executable is readable). @internal */
export const agentInstalled = (platform: ArcPlatform): Effect.Effect<boolean> =>
  platform.himdsPath === undefined
    ? Effect.succeed(false)
    : Effect.promise(() => Fs.access(platform.himdsPath!, Fs.constants.R_OK).then(() => true, () => false))

const refused = (url: string, description: string) =>
  new NetworkError({ reason: "InvalidResponse", url, status: 401, description })

/**
 * The key named by a challenge, after the checks msal-node `AzureArc.ts` makes: the platform
 * is Linux or Windows, the file name ends in `.key`, the path is exactly the token directory
 * plus that name (so `..` or another directory is refused), and the file is at most
 * `MAX_KEY_FILE_BYTES`, checked before reading. A symbolic link is refused too. A refused
 * path is a `NetworkError` (the endpoint's answer is not acceptable); an unreadable or
 * oversized file a `CredentialError`. Neither carries the key.
 * @internal
 */
export const readKey = (
  platform: ArcPlatform,
  path: string,
  url: string
): Effect.Effect<Redacted.Redacted<string>, MsalError> =>
  Effect.gen(function*() {
    const directory = platform.tokensDirectory
    if (directory === undefined) {
      return yield* new CredentialError({
        description: "Azure Arc managed identity is supported on Linux and Windows only"
      })
    }
    const paths = platform.pathStyle === "win32" ? Path.win32 : Path.posix
    const name = paths.basename(path)
    if (!name.endsWith(".key")) return yield* refused(url, "Azure Arc's challenge names a file that is not a .key file")
    const expected = directory.endsWith(paths.sep) ? `${directory}${name}` : `${directory}${paths.sep}${name}`
    if (expected !== path) {
      return yield* refused(url, "Azure Arc's challenge names a key file outside the agent's token directory")
    }
    const stat = yield* Effect.tryPromise({
      try: () => Fs.lstat(path),
      catch: () => new CredentialError({ description: "Azure Arc's key file could not be read" })
    })
    if (!stat.isFile()) return yield* new CredentialError({ description: "Azure Arc's key file is not a regular file" })
    if (stat.size > MAX_KEY_FILE_BYTES) {
      return yield* new CredentialError({
        description: `Azure Arc's key file is larger than ${MAX_KEY_FILE_BYTES} bytes`
      })
    }
    const content = yield* Effect.tryPromise({
      try: () => Fs.readFile(path, "utf8"),
      catch: () => new CredentialError({ description: "Azure Arc's key file could not be read" })
    })
    return Redacted.make(content)
  })
