/**
 * The costs of the Redis stores, measured against real `redis-server` processes on 127.0.0.1
 * (one server, and a 3-master/3-replica cluster, both started and stopped here):
 *
 *   node --import tsx bench/redis.ts [--tenants=10000] [--seconds=10] [--processes=4]
 *
 * - memory per entry: `used_memory` before and after storing <tenants> × 3 app tokens (each
 *   the size of a token the test authority issues), clear and encrypted;
 * - round trips per cache hit and per miss of `acquireTokenForClient`, counted at the client;
 * - hit throughput: <processes> processes calling `acquireTokenForClient` on 100 cached
 *   tenants for <seconds> seconds (every call reads Redis);
 * - 100,000 tenants × 3 scopes: the memory, and the requests per hour, from those figures.
 *
 * Prints a Markdown table and the raw figures as JSON.
 */
import { mkdtempSync, rmSync } from "node:fs"
import * as os from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { Cluster, Redis } from "ioredis"
import { runWorkers } from "../test/cache/processes.js"
import { startCluster } from "../test/cache/redisCluster.js"
import { startRedis } from "../test/cache/redisServer.js"
import * as Measure from "./support/redisMeasure.js"

const argv = process.argv.slice(2)
const option = (name: string, fallback: number) =>
  Number(argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback)
const tenants = option("tenants", 10_000)
const seconds = option("seconds", 10)
const processes = option("processes", 4)
const WORKER = fileURLToPath(new URL("./redisWorker.ts", import.meta.url))

const throughput = async (store: string, authorityUrl: string, prefix: string) => {
  const dir = mkdtempSync(join(os.tmpdir(), "effect-msal-bench-redis-"))
  const outcomes = await runWorkers(
    Array.from({ length: processes }, () => [store, authorityUrl, prefix, "100", String(seconds)]),
    join(dir, "go"),
    WORKER
  )
  rmSync(dir, { recursive: true, force: true })
  const results = outcomes.map((o) => {
    if (o.code !== 0) throw new Error(`worker failed: ${o.stderr}`)
    return JSON.parse(o.stdout.trim().split("\n").at(-1)!) as { calls: number; errors: number; millis: number }
  })
  const calls = results.reduce((a, r) => a + r.calls, 0)
  const errors = results.reduce((a, r) => a + r.errors, 0)
  return { callsPerSecond: Math.round(calls / seconds), errors }
}

const main = async () => {
  const single = await startRedis()
  const cluster = await startCluster()
  try {
    await cluster.waitHealthy(60_000)
    const singleClient = new Redis(single.url)
    const clusterClient = new Cluster(cluster.nodes.slice(0, 1))
    clusterClient.on("error", () => undefined)
    const figures = await Effect.runPromise(Measure.all({
      tenants,
      single: { url: single.url, client: singleClient, memory: () => Measure.usedMemory([singleClient]) },
      cluster: {
        nodes: cluster.nodes,
        client: clusterClient,
        // after the replicas caught up: a replica's pending output counts in its master's memory
        memory: () => cluster.waitReplicated(60_000).then(() => Measure.usedMemory(clusterClient.nodes("master")))
      },
      throughput
    }))
    console.log(Measure.markdown(figures, { tenants, seconds, processes }))
    console.log(JSON.stringify(figures, null, 2))
    await singleClient.quit()
    await clusterClient.quit()
  } finally {
    await single.stop()
    await cluster.stop()
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e)
  process.exit(1)
})
