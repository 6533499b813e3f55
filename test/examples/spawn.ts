/**
 * Runs an example's npm script as a child process (without `npm`, so that SIGTERM reaches it)
 * until it prints a line, then stops it.
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
  const child = ChildProcess.spawn("node_modules/.bin/tsx", command!.split(" ").slice(1), { env: environment })
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
