/** Runs real MSAL Python (Debian's python3-msal, with /usr/bin/python3) against a served test authority. */
import { Effect } from "effect"
import { execFile, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** The system interpreter: Debian's python3-msal lives in its dist-packages, not in a pyenv. */
export const PYTHON = "/usr/bin/python3"
const SCRIPT = fileURLToPath(new URL("./msal_python.py", import.meta.url))

/** Whether MSAL Python can run here (npm test's pretest, scripts/provision.mjs, installs python3-msal). */
export const available = (): boolean =>
  existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import msal"], { stdio: "ignore", timeout: 20_000 }).status === 0

/** What the peer is asked to do (see msal_python.py). */
export interface PeerRequest {
  readonly base: string
  readonly cache: string
  readonly client_id: string
  readonly secret: string
  readonly authority: string
  readonly action: "client_credentials" | "silent_app" | "on_behalf_of" | "sign_in" | "silent_user" | "accounts"
  readonly scopes?: ReadonlyArray<string>
  readonly assertion?: string
  readonly redirect_uri?: string
  readonly username?: string
}

/** What the peer answers. */
export interface PeerAnswer {
  readonly result: Record<string, unknown> | null
  readonly accounts: ReadonlyArray<Record<string, unknown>>
  /** Every HTTP call MSAL Python made, as `METHOD url`. */
  readonly requests: ReadonlyArray<string>
}

/** Runs one action of MSAL Python; bounded to 60 seconds. */
export const run = (request: PeerRequest): Effect.Effect<PeerAnswer> =>
  Effect.async<PeerAnswer>((resume) => {
    const child = execFile(
      PYTHON,
      [SCRIPT],
      { timeout: 60_000, maxBuffer: 8 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null) resume(Effect.dieMessage(`MSAL Python failed: ${stderr || error.message}`))
        else resume(Effect.succeed(JSON.parse(stdout) as PeerAnswer))
      }
    )
    child.stdin?.end(JSON.stringify(request))
  })
