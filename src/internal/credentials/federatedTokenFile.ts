/**
 * A federated token read from a file (`AZURE_FEDERATED_TOKEN_FILE`), kept in memory and
 * read again when the file changes.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import { CredentialError } from "../../MsalError.js"
import * as Files from "./files.js"

const WHAT = "federated token file"

interface Loaded {
  readonly version: string
  readonly token: Redacted.Redacted<string>
}

/**
 * The current token of a federated token file, and a way to force a fresh read.
 *
 * @internal
 */
export interface FederatedTokenFile {
  /** The token; the file is checked with one `stat` per call and read only when it changed. */
  readonly token: Effect.Effect<Redacted.Redacted<string>, CredentialError>
  /** Reads the file now, whether or not it looks changed. */
  readonly reload: Effect.Effect<void, CredentialError>
}

const load = (path: string): Effect.Effect<Loaded, CredentialError> =>
  Effect.gen(function*() {
    // The version is taken before the read: a change racing the read is seen next time.
    const version = yield* Files.version(path, WHAT)
    const bytes = yield* Files.read(path, WHAT)
    const token = Buffer.from(bytes).toString("utf8").trim()
    if (token.length === 0) return yield* new CredentialError({ description: `the ${WHAT} ${path} is empty` })
    return { version, token: Redacted.make(token) }
  })

/**
 * Reads the file once (failing when it is missing, unreadable or empty) and returns the
 * accessor.
 *
 * @internal
 */
export const make = (path: string): Effect.Effect<FederatedTokenFile, CredentialError> =>
  Effect.gen(function*() {
    const state = yield* Ref.make(yield* load(path))
    const reload = Effect.flatMap(load(path), (loaded) => Ref.set(state, loaded))
    const token = Effect.gen(function*() {
      const current = yield* Ref.get(state)
      if ((yield* Files.version(path, WHAT)) === current.version) return current.token
      const loaded = yield* load(path)
      yield* Ref.set(state, loaded)
      return loaded.token
    })
    return { token, reload }
  })
