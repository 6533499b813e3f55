/**
 * Starts a real Redis Cluster of 3 masters and 3 replicas from Debian's `redis-server`
 * (`cluster-enabled yes`, joined with `redis-cli --cluster create … --cluster-replicas 1`,
 * https://redis.io/docs/latest/operate/oss_and_stack/management/scaling/#create-a-redis-cluster)
 * on free 127.0.0.1 ports, in a temporary directory, and stops every process it started.
 */
import type { ChildProcess } from "node:child_process"
import { execFile, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { freePort } from "./redisServer.js"

const run = promisify(execFile)

export interface ClusterProcess {
  readonly port: number
  readonly child: ChildProcess
}

export interface RedisCluster {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  readonly processes: ReadonlyArray<ClusterProcess>
  /** `redis-cli -p <port> <args>` on one node. */
  readonly cli: (port: number, ...args: ReadonlyArray<string>) => Promise<string>
  /** The ports of the nodes that are masters now. */
  readonly masters: () => Promise<Array<number>>
  /** Waits until every live node says `cluster_state:ok` and sees `masters` masters with slots. */
  readonly waitHealthy: (deadlineMillis: number) => Promise<void>
  /** Waits until every replica has everything its master wrote. */
  readonly waitReplicated: (deadlineMillis: number) => Promise<void>
  readonly stop: () => Promise<void>
}

const startNode = async (dir: string): Promise<ClusterProcess> => {
  const port = await freePort()
  const busPort = await freePort()
  const child = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--protected-mode",
    "yes",
    "--cluster-enabled",
    "yes",
    "--cluster-port",
    String(busPort),
    "--cluster-config-file",
    join(dir, `nodes-${port}.conf`),
    "--dir",
    dir,
    // a dead master is declared failed after 1 s, and any replica may take over
    "--cluster-node-timeout",
    "1000",
    "--cluster-replica-validity-factor",
    "0",
    "--save",
    "",
    "--appendonly",
    "no",
    "--repl-diskless-sync",
    "yes",
    "--repl-diskless-sync-delay",
    "0"
  ], { stdio: ["ignore", "pipe", "pipe"] })
  await new Promise<void>((resolve, reject) => {
    let out = ""
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 20_000)
    child.once("error", (e) => {
      clearTimeout(timer)
      reject(new Error(`could not run redis-server (apt-get install redis-server): ${e.message}`))
    })
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString()
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  child.stdout?.removeAllListeners("data")
  child.stdout?.resume()
  child.stderr?.resume()
  return { port, child }
}

const alive = (p: ClusterProcess) => p.child.exitCode === null && p.child.signalCode === null

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 100 ms until it holds or the deadline passes. */
const until = async (what: string, deadlineMillis: number, check: () => Promise<boolean>) => {
  const end = Date.now() + deadlineMillis
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > end) throw new Error(`redis cluster: ${what} not reached within ${deadlineMillis} ms`)
    await pause(100)
  }
}

export const startCluster = async (): Promise<RedisCluster> => {
  const dir = mkdtempSync(join(tmpdir(), "effect-msal-cluster-"))
  const processes: Array<ClusterProcess> = []
  const killAll = () => processes.forEach((p) => alive(p) && p.child.kill("SIGKILL"))
  process.once("exit", killAll)
  const cli = async (port: number, ...args: ReadonlyArray<string>) =>
    (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 10_000 })).stdout
  try {
    for (let i = 0; i < 6; i++) processes.push(await startNode(dir))
    await run("redis-cli", [
      "--cluster",
      "create",
      ...processes.map((p) => `127.0.0.1:${p.port}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes"
    ], { timeout: 60_000 })
  } catch (e) {
    killAll()
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
  const live = () => processes.filter(alive)
  const masters = async () => {
    const lines = (await cli(live()[0]!.port, "cluster", "nodes")).split("\n")
    // <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slots…>
    return lines.map((l) => l.split(" ")).filter((f) => {
      const flags = (f[2] ?? "").split(",")
      return flags.includes("master") && !flags.some((x) => x.startsWith("fail")) && f.length > 8
    }).map((f) => Number(f[1]!.split("@")[0]!.split(":")[1]))
  }
  const waitHealthy = (deadlineMillis: number) =>
    until("cluster_state:ok", deadlineMillis, async () => {
      for (const p of live()) {
        if (!(await cli(p.port, "cluster", "info")).includes("cluster_state:ok")) return false
      }
      return (await masters()).length === 3
    })
  const waitReplicated = (deadlineMillis: number) =>
    until("replication", deadlineMillis, async () => {
      for (const port of await masters()) {
        const info = await cli(port, "info", "replication")
        const offset = /master_repl_offset:(\d+)/.exec(info)?.[1]
        const replicas = [...info.matchAll(/slave\d+:.*offset=(\d+)/g)].map((m) => m[1])
        if (replicas.length === 0 || replicas.some((r) => r !== offset)) return false
      }
      return true
    })
  const stop = async () => {
    await Promise.all(
      processes.filter(alive).map((p) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => p.child.kill("SIGKILL"), 5_000)
          p.child.once("exit", () => {
            clearTimeout(timer)
            resolve()
          })
          p.child.kill("SIGTERM")
        })
      )
    )
    process.removeListener("exit", killAll)
    rmSync(dir, { recursive: true, force: true })
  }
  return {
    nodes: processes.map((p) => ({ host: "127.0.0.1", port: p.port })),
    processes,
    cli,
    masters,
    waitHealthy,
    waitReplicated,
    stop
  }
}
