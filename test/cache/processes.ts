/** Runs test/cache/worker.ts (or another worker script) in child processes, all released at once. */
import { expect } from "@effect/vitest"
import { spawn } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { bundle } from "../support/bundle.js"

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url))

/** The worker script with its packages in one file (test/support/bundle.ts), started by `node` alone. */
export const bundled = (script: string): Promise<string> => bundle(script, "inside")

export interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Starts one worker per argument list (test/cache/worker.ts unless `script` names another);
 * when all are ready, creates `barrier`; resolves when all have exited.
 */
export const runWorkers = (
  argLists: ReadonlyArray<ReadonlyArray<string>>,
  barrier: string,
  script: string = WORKER
): Promise<Array<Outcome>> => {
  let ready = 0
  return bundled(script).then((entry) =>
    Promise.all(argLists.map((args) =>
      new Promise<Outcome>((resolve, reject) => {
        const child = spawn(process.execPath, [entry, ...args], {
          env: { ...process.env, BARRIER: barrier },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let stdout = ""
        let stderr = ""
        let counted = false
        child.stdout.on("data", (d: Buffer) => {
          stdout += d.toString()
          if (!counted && stdout.includes("ready")) {
            counted = true
            if (++ready === argLists.length) writeFileSync(barrier, "go")
          }
        })
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
        child.on("error", reject)
        child.on("exit", (code) => resolve({ code, stdout, stderr }))
      })
    ))
  )
}

/**
 * Four worker processes on `store` (`file:<path>` or `redis:<url>`) miss the token for
 * `target` at once: under the store's lock exactly one "fetches" it (one line in its log in
 * `dir`) and the other three find it in the store. Each exits 0 with nothing on stderr.
 */
export const expectOneFetch = (store: string, dir: string, target: string) => startOneFetch(store, dir, target).check()

/**
 * `expectOneFetch` in two halves: the workers start now (`ended` settles when all have exited);
 * `check` waits for them and makes the checks. For a test file that starts its processes early,
 * so that they boot while its other tests run.
 */
export const startOneFetch = (store: string, dir: string, target: string) => {
  const log = join(dir, "requests")
  writeFileSync(log, "")
  const running = runWorkers([0, 1, 2, 3].map(() => ["flight", store, log, target]), join(dir, "go"))
  const ended: Promise<unknown> = running.catch(() => undefined) // a failure is reported by check
  const check = async () => {
    const outcomes = await running
    expect(outcomes.map((o) => [o.code, o.stderr])).toEqual(outcomes.map(() => [0, ""]))
    expect(readFileSync(log, "utf8").trim().split("\n")).toHaveLength(1)
    expect(outcomes.map((o) => o.stdout.trim().split("\n").at(-1)).sort()).toEqual([
      "cache",
      "cache",
      "cache",
      "fetched"
    ])
  }
  return { ended, check }
}
