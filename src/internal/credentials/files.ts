/**
 * Reading credential files without blocking the event loop.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { readFile, stat } from "node:fs/promises"
import { CredentialError } from "../../MsalError.js"

const codeOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? ` (${e.code})` : ""

/**
 * The bytes of a file; a missing or unreadable file is a `CredentialError` naming it.
 *
 * @internal
 */
export const read = (path: string, what: string): Effect.Effect<Uint8Array, CredentialError> =>
  Effect.tryPromise({
    try: (signal) => readFile(path, { signal }),
    catch: (e) => new CredentialError({ description: `could not read the ${what} ${path}${codeOf(e)}` })
  })

/**
 * A cheap identity of a file's current content: inode, size and change times. A replaced
 * file (a new inode, as with Kubernetes' symlink swap) or a rewritten one gets a new value.
 *
 * @internal
 */
export const version = (path: string, what: string): Effect.Effect<string, CredentialError> =>
  Effect.tryPromise({
    try: () => stat(path),
    catch: (e) => new CredentialError({ description: `could not read the ${what} ${path}${codeOf(e)}` })
  }).pipe(Effect.map((s) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`))
