/**
 * Runs an example's npm script as a child process until it prints a line, then stops it. The
 * script (`tsx examples/<name>/main.ts`) runs as `node --import tsx examples/<name>/main.ts`:
 * one process, without `npm` or tsx's own parent process, so that SIGTERM reaches the program
 * itself (tsx's parent relays signals, and under load it was seen to end the program with
 * 143 instead of letting it stop).
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { expect } from "vitest"

/** The script's output up to `ready`, and its exit code after SIGTERM. */
export const runUntil = async (
  script: string,
  ready: string
): Promise<{ readonly stdout: string; readonly code: number | null }> => {
  const scripts = (JSON.parse(Fs.readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }).scripts
  const command = scripts[script]
  expect(command, `npm script ${script}`).toMatch(/^tsx examples\/\w+\/main\.ts$/)
  const environment: NodeJS.ProcessEnv = { ...process.env, PORT: "0" }
  for (const name of Object.keys(environment)) if (name.startsWith("AZURE_")) delete environment[name]
  const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", ...command!.split(" ").slice(1)], {
    env: environment
  })
  let stdout = ""
  let stderr = ""
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  const started = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString()
      if (stdout.includes(ready)) resolve()
    })
    child.on("exit", (code) => reject(new Error(`${script} exited early (${code}):\n${stdout}\n${stderr}`)))
  })
  try {
    await started
  } finally {
    child.kill("SIGTERM")
  }
  return { stdout, code: await exited }
}
