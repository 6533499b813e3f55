/**
 * Starts a real Redis Cluster of 3 masters and 3 replicas from Debian's `redis-server`
 * (`cluster-enabled yes`) on free 127.0.0.1 ports, in a temporary directory, and stops every
 * process it started.
 *
 * The nodes are started at once and joined with the cluster commands that
 * `redis-cli --cluster create` sends, without its fixed one-second waits: each master takes a
 * third of the 16384 slots (CLUSTER ADDSLOTSRANGE), each node its own config epoch
 * (CLUSTER SET-CONFIG-EPOCH), every node meets the first (CLUSTER MEET, giving the bus port),
 * and each replica follows a master once it knows it (CLUSTER REPLICATE); see
 * https://redis.io/docs/latest/commands/cluster-addslotsrange/,
 * https://redis.io/docs/latest/commands/cluster-meet/ and
 * https://redis.io/docs/latest/commands/cluster-replicate/.
 */
import type { ChildProcess } from "node:child_process"
import { execFile, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { Redis } from "ioredis"

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
  /** The ports of the nodes that are masters now (as a live node sees them). */
  readonly masters: () => Promise<Array<number>>
  /** Whether every live node says `cluster_state:ok` and 3 masters have slots, none of them `notMaster` (false when a node does not answer). */
  readonly isHealthy: (notMaster?: number) => Promise<boolean>
  /** Waits (polling every 20 ms) until `isHealthy`. */
  readonly waitHealthy: (deadlineMillis: number) => Promise<void>
  /** Waits until every master has a replica that has everything the master wrote. */
  readonly waitReplicated: (deadlineMillis: number) => Promise<void>
  readonly stop: () => Promise<void>
}

/** `n` distinct free ports: all listened on at once, then released. */
const freePorts = async (n: number): Promise<Array<number>> => {
  const servers = Array.from({ length: n }, () => createServer())
  try {
    return await Promise.all(servers.map((server) =>
      new Promise<number>((resolve, reject) => {
        server.once("error", reject)
        server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
      })
    ))
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  }
}

const startNode = async (dir: string, port: number, busPort: number): Promise<ClusterProcess> => {
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
  const node = { port, child }
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
  return node
}

const alive = (p: ClusterProcess) => p.child.exitCode === null && p.child.signalCode === null

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 20 ms until it holds or the deadline passes. */
const until = async (what: string, deadlineMillis: number, check: () => Promise<boolean>) => {
  const end = Date.now() + deadlineMillis
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > end) throw new Error(`redis cluster: ${what} not reached within ${deadlineMillis} ms`)
    await pause(20)
  }
}

/** `CLUSTER NODES` lines split into fields: <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slots…> */
const clusterNodes = (text: string) =>
  text.split("\n").filter((l) => l !== "").map((l) => {
    const f = l.split(" ")
    return {
      id: f[0]!,
      port: Number(f[1]!.split("@")[0]!.split(":")[1]),
      flags: f[2]!.split(","),
      master: f[3]!,
      hasSlots: f.length > 8
    }
  })

export const startCluster = async (): Promise<RedisCluster> => {
  const dir = mkdtempSync(join(tmpdir(), "effect-msal-cluster-"))
  const processes: Array<ClusterProcess> = []
  const connections = new Map<number, Redis>()
  const killAll = () => processes.forEach((p) => alive(p) && p.child.kill("SIGKILL"))
  process.once("exit", killAll)
  const cli = async (port: number, ...args: ReadonlyArray<string>) =>
    (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 10_000 })).stdout
  /** One command on one node, over a connection kept for the cluster's life (no redis-cli process per poll). */
  const command = (port: number, name: string, ...args: ReadonlyArray<string | number>): Promise<unknown> => {
    let connection = connections.get(port)
    if (connection === undefined) {
      connection = new Redis({
        host: "127.0.0.1",
        port,
        maxRetriesPerRequest: 0,
        commandTimeout: 2_000,
        retryStrategy: () => null
      })
      connection.on("error", () => undefined)
      connections.set(port, connection)
    }
    return connection.call(name, ...args)
  }
  const text = async (port: number, name: string, ...args: ReadonlyArray<string | number>) =>
    String(await command(port, name, ...args))
  const disconnectAll = () => {
    for (const c of connections.values()) c.disconnect()
    connections.clear()
  }
  const live = () => processes.filter(alive)
  const masters = async () =>
    clusterNodes(await text(live()[0]!.port, "cluster", "nodes")).filter((n) =>
      n.flags.includes("master") && !n.flags.some((x) => x.startsWith("fail")) && n.hasSlots
    ).map((n) => n.port)
  const isHealthy = async (notMaster?: number) => {
    try {
      const states = await Promise.all(live().map((p) => text(p.port, "cluster", "info")))
      if (!states.every((s) => s.includes("cluster_state:ok"))) return false
      const now = await masters()
      return now.length === 3 && (notMaster === undefined || !now.includes(notMaster))
    } catch {
      return false
    }
  }
  try {
    const ports = await freePorts(12)
    processes.push(
      ...await Promise.all(
        [0, 1, 2, 3, 4, 5].map((i) => startNode(dir, ports[2 * i]!, ports[2 * i + 1]!))
      )
    )
    const ids = await Promise.all(processes.map((p) => text(p.port, "cluster", "myid")))
    const third = Math.ceil(16384 / 3)
    await Promise.all(
      [0, 1, 2].map((i) =>
        command(processes[i]!.port, "cluster", "addslotsrange", i * third, Math.min(16383, (i + 1) * third - 1))
      )
    )
    await Promise.all(processes.map((p, i) => command(p.port, "cluster", "set-config-epoch", i + 1)))
    await Promise.all(
      processes.slice(1).map((p) => command(p.port, "cluster", "meet", "127.0.0.1", processes[0]!.port, ports[1]!))
    )
    // a replica can follow its master once the master is in its node table
    await Promise.all([3, 4, 5].map(async (i) => {
      const master = ids[i - 3]!
      await until(
        "replicas meeting their masters",
        30_000,
        async () => clusterNodes(await text(processes[i]!.port, "cluster", "nodes")).some((n) => n.id === master)
      )
      await command(processes[i]!.port, "cluster", "replicate", master)
    }))
  } catch (e) {
    disconnectAll()
    killAll()
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
  const waitHealthy = (deadlineMillis: number) => until("cluster_state:ok", deadlineMillis, () => isHealthy())
  const waitReplicated = (deadlineMillis: number) =>
    until("replication", deadlineMillis, async () => {
      for (const port of await masters()) {
        const info = await text(port, "info", "replication")
        const offset = /master_repl_offset:(\d+)/.exec(info)?.[1]
        const replicas = [...info.matchAll(/slave\d+:.*offset=(\d+)/g)].map((m) => m[1])
        if (replicas.length === 0 || replicas.some((r) => r !== offset)) return false
      }
      return true
    })
  const stop = async () => {
    disconnectAll()
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
    isHealthy,
    waitHealthy,
    waitReplicated,
    stop
  }
}
