/**
 * Runs an example's npm script as a child process. The script must be
 * `tsx examples/<name>/main.ts`; its program is started as `node <bundle>`, the same file
 * bundled once by esbuild (the transform tsx applies, done once per test process instead of
 * on every start), so that a spawned smoke test costs the program's run, not a compile.
 * One process, without `npm` or tsx's own parent process, so that SIGTERM reaches the
 * program itself (tsx's parent relays signals, and under load it was seen to end the program
 * with 143 instead of letting it stop).
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { expect } from "vitest"
import { bundle } from "../support/bundle.js"

/** What a run printed, and its exit code. */
export interface Run {
  readonly stdout: string
  readonly stderr: string
  readonly code: number | null
}

/** The longest a run may take: then the child is killed and the test fails. */
const DEADLINE_MILLIS = 60_000

/** The program an npm script runs, checked to be `tsx examples/<name>/main.ts`. */
const programOf = (script: string): string => {
  const scripts = (JSON.parse(Fs.readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }).scripts
  const command = scripts[script]
  expect(command, `npm script ${script}`).toMatch(/^tsx examples\/\w+\/main\.ts$/)
  return command!.split(" ")[1]!
}

/**
 * Starts the script's program with `PORT=0` and no `AZURE_*` variable (the test authority);
 * `until` resolves on the first output that satisfies `ready`; the child is killed with
 * SIGTERM once `ready` is seen, or with SIGKILL at the deadline. Resolves when it exited.
 */
const run = async (script: string, ready: ((stdout: string) => boolean) | undefined): Promise<Run> => {
  const program = await bundle(programOf(script))
  const environment: NodeJS.ProcessEnv = { ...process.env, PORT: "0" }
  for (const name of Object.keys(environment)) if (name.startsWith("AZURE_")) delete environment[name]
  const child = ChildProcess.spawn(process.execPath, [program], { env: environment })
  let stdout = ""
  let stderr = ""
  let stopped = false
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString()
    if (!stopped && ready?.(stdout) === true) {
      stopped = true
      child.kill("SIGTERM")
    }
  })
  const timer = setTimeout(() => child.kill("SIGKILL"), DEADLINE_MILLIS)
  const code = await new Promise<number | null>((done) => child.on("close", (c) => done(c)))
  clearTimeout(timer)
  if (ready !== undefined && !stopped) {
    throw new Error(`${script} exited (${code}) before it was ready:\n${stdout}\n${stderr}`)
  }
  return { stdout, stderr, code }
}

/** The script's output up to `ready`, and its exit code after SIGTERM. */
export const runUntil = (script: string, ready: string): Promise<Run> => run(script, (stdout) => stdout.includes(ready))

/** The script's output and exit code when it ends by itself. */
export const runToEnd = (script: string): Promise<Run> => run(script, undefined)
