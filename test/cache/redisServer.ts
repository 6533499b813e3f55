/**
 * Starts a throwaway `redis-server` (Debian package `redis-server`) on a free 127.0.0.1 port,
 * without persistence, and stops it. The tests fail with a clear message when it is missing.
 */
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import type * as TokenCache from "../../src/TokenCache.js"

export interface RedisServer {
  readonly url: string
  readonly port: number
  readonly stop: () => Promise<void>
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  readonly pause: () => void
  /** SIGCONT */
  readonly resume: () => void
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export const startRedis = async (): Promise<RedisServer> => {
  const port = await freePort()
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    { stdio: ["ignore", "pipe", "pipe"] }
  )
  await new Promise<void>((resolve, reject) => {
    let out = ""
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 15_000)
    child.once("error", (e) => {
      clearTimeout(timer)
      reject(new Error(`could not run redis-server (apt-get install redis-server): ${e.message}`))
    })
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code}: ${out}`))
    })
  })
  child.removeAllListeners("exit")
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.kill("SIGCONT")
        child.kill("SIGTERM")
      })
  }
}

/** `client` (a Redis or a Cluster) as the store's client, every command it is sent named in `calls`. */
export const countCommands = (client: TokenCache.RedisClient) => {
  const calls: Array<string> = []
  const counted: TokenCache.RedisClient = {
    hget: (key, field) => (calls.push("hget"), client.hget(key, field)),
    evalsha: (sha, keys, ...args) => (calls.push("evalsha"), client.evalsha(sha, keys, ...args)),
    eval: (script, keys, ...args) => (calls.push("eval"), client.eval(script, keys, ...args))
  }
  return { counted, calls }
}
