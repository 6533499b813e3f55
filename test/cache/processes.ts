/** Runs test/cache/worker.ts (or another worker script) in child processes, all released at once. */
import { expect } from "@effect/vitest"
import * as esbuild from "esbuild"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { fileURLToPath } from "node:url"

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url))

/** Bundles live under node_modules, so that a package the bundle leaves out (ioredis) resolves. */
const BUNDLES = fileURLToPath(new URL("../../node_modules/.cache/effect-msal-test-workers/", import.meta.url))
const bundles = new Map<string, Promise<string>>()

/**
 * The worker script compiled into one plain ES module (esbuild, well under a second), so that
 * each child process starts with `node` alone instead of compiling the sources with tsx on
 * every start (several seconds of CPU per process). The file is named by its content's hash:
 * later runs and other test files reuse it, and a changed worker gets a new one.
 */
export const bundled = (script: string): Promise<string> => {
  let out = bundles.get(script)
  if (out === undefined) {
    out = esbuild.build({
      entryPoints: [script],
      outfile: join(BUNDLES, "worker.mjs"),
      write: false,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      // CommonJS dependencies inside the bundle need a real require
      banner: {
        js:
          "import { createRequire as __workerRequire } from \"node:module\";\nconst require = __workerRequire(import.meta.url);"
      },
      logLevel: "warning"
    }).then(({ outputFiles }) => {
      const code = outputFiles[0]!.contents
      const file = join(
        BUNDLES,
        `${basename(script, ".ts")}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`
      )
      if (!existsSync(file)) {
        mkdirSync(BUNDLES, { recursive: true })
        const temporary = `${file}.${process.pid}.tmp`
        writeFileSync(temporary, code)
        renameSync(temporary, file)
      }
      return file
    })
    bundles.set(script, out)
  }
  return out
}

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
