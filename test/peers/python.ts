/**
 * Runs real MSAL Python (Debian's python3-msal, with /usr/bin/python3) against a served test
 * authority: one long-lived process per test file, asked one request at a time over its
 * stdin and stdout (see msal_python.py).
 */
import { Effect } from "effect"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

/** The system interpreter: Debian's python3-msal lives in its dist-packages, not in a pyenv. */
export const PYTHON = "/usr/bin/python3"
const SCRIPT = fileURLToPath(new URL("./msal_python.py", import.meta.url))

/** How long one request may take. */
const ANSWER_WITHIN_MS = 60_000
/** How long the process may take to exit once its stdin is closed, before it is killed. */
const EXIT_WITHIN_MS = 5_000

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

/** The process's first line: MSAL Python's version and the interpreter's path. */
export interface Hello {
  readonly msal: string
  readonly python: string
}

/** One line the process writes: the answer to message `id`, or the traceback of its failure. */
interface Reply {
  readonly id: number
  readonly answer?: unknown
  readonly error?: string
}

/** MSAL Python, started on first use. */
export interface Peer {
  /** The process's hello: it started and imported MSAL Python. */
  readonly hello: Effect.Effect<Hello>
  /** Runs one request; a failure, a dead process or no answer within 60 seconds is a defect. */
  readonly run: (request: PeerRequest) => Effect.Effect<PeerAnswer>
  /** Ends the process: closes its stdin, and kills it if it has not exited within 5 seconds. */
  readonly close: () => Promise<void>
}

interface Running {
  readonly child: ChildProcessWithoutNullStreams
  /** Who waits for the reply to each message id. */
  readonly waiting: Map<number, (reply: Reply) => void>
  /** Replies that came before anyone asked (the hello, kept for every later ask). */
  readonly early: Map<number, Reply>
  /** Why the process is gone, once it is. */
  gone: string | undefined
}

const launch = (): Running => {
  const child = spawn(PYTHON, [SCRIPT], { stdio: ["pipe", "pipe", "pipe"] })
  const running: Running = { child, waiting: new Map(), early: new Map(), gone: undefined }
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-20_000)
  })
  createInterface({ input: child.stdout }).on("line", (line) => {
    const reply = JSON.parse(line) as Reply
    const resolve = running.waiting.get(reply.id)
    running.waiting.delete(reply.id)
    if (resolve === undefined) running.early.set(reply.id, reply)
    else resolve(reply)
  })
  const end = (why: string) => {
    running.gone ??= `MSAL Python ${why}: ${stderr}`
    for (const resolve of running.waiting.values()) resolve({ id: -1, error: running.gone })
    running.waiting.clear()
  }
  // a write to a process that is gone fails: the exit, with its stderr, is what gets reported
  child.stdin.on("error", () => {})
  child.on("error", (error) => end(`could not run (${error.message})`))
  child.on("exit", (code, signal) => end(`exited (${code ?? signal})`))
  return running
}

const settle = (reply: Reply): Effect.Effect<unknown> =>
  reply.error === undefined ? Effect.succeed(reply.answer) : Effect.dieMessage(`MSAL Python failed: ${reply.error}`)

/** The reply to message `id`, sending `message` first when given; bounded to `ANSWER_WITHIN_MS`. */
const ask = (running: Running, id: number, message?: string): Effect.Effect<unknown> =>
  Effect.async<unknown>((resume) => {
    const early = running.early.get(id)
    if (early !== undefined) return resume(settle(early))
    if (running.gone !== undefined) return resume(Effect.dieMessage(running.gone))
    const timer = setTimeout(() => {
      running.waiting.delete(id)
      resume(Effect.dieMessage(`MSAL Python did not answer within ${ANSWER_WITHIN_MS} ms`))
    }, ANSWER_WITHIN_MS)
    running.waiting.set(id, (reply) => {
      clearTimeout(timer)
      resume(settle(reply))
    })
    if (message !== undefined) running.child.stdin.write(`${message}\n`)
    return Effect.sync(() => {
      clearTimeout(timer)
      running.waiting.delete(id)
    })
  })

/** Ends the process: closes its stdin, then kills it if it has not exited within `EXIT_WITHIN_MS`. */
const stop = (running: Running): Promise<void> =>
  new Promise((resolve) => {
    if (running.child.exitCode !== null || running.child.signalCode !== null) return resolve()
    const timer = setTimeout(() => running.child.kill("SIGKILL"), EXIT_WITHIN_MS)
    running.child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    running.child.stdin.end()
  })

/** A peer whose process starts on first use; `close` ends it (call it in `afterAll`). */
export const make = (): Peer => {
  let running: Running | undefined
  let next = 1
  const started = () => (running ??= launch())
  return {
    hello: Effect.suspend(() => ask(started(), 0)) as Effect.Effect<Hello>,
    run: (request) =>
      Effect.suspend(() => {
        const id = next++
        return ask(started(), id, JSON.stringify({ id, request })) as Effect.Effect<PeerAnswer>
      }),
    close: () => (running === undefined ? Promise.resolve() : stop(running))
  }
}
