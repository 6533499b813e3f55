/** Runs test/cache/worker.ts in child processes, all released at once. */
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url))

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
  return Promise.all(argLists.map((args) =>
    new Promise<Outcome>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
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
}
