/**
 * One measurement in its own process (a clean heap and JIT for each library and size).
 * Usage (after bench/support/build.ts): node --expose-gc .bench-out/js/bench/worker.js <task> <ours|msal> <authority url> [args]
 * Prints one line `@@bench <json>`.
 */
import * as CacheHit from "./tasks/cacheHit.js"
import * as Concurrency from "./tasks/concurrency.js"
import * as Heap from "./tasks/heap.js"
import * as OboHit from "./tasks/oboHit.js"
import * as Serialization from "./tasks/serialization.js"
import * as Signatures from "./tasks/signatures.js"

const [task, library, baseUrl = "", arg = "", arg2 = ""] = process.argv.slice(2)
const ours = library === "ours"

const run = (): Promise<unknown> | unknown => {
  switch (task) {
    case "cache-hit":
      return ours ? CacheHit.runOurs(baseUrl, Number(arg)) : CacheHit.runMsal(baseUrl, Number(arg))
    case "obo-hit":
      return ours ? OboHit.runOurs(baseUrl, Number(arg)) : OboHit.runMsal(baseUrl, Number(arg))
    case "concurrency":
      return ours
        ? Concurrency.runOurs(baseUrl, Number(arg), arg2 === "Effect.all" ? "Effect.all" : "runPromise")
        : Concurrency.runMsal(baseUrl, Number(arg))
    case "heap":
      return ours
        ? Heap.runOurs(baseUrl, Number(arg), arg2 === "modify" ? "modify" : "deserialize")
        : Heap.runMsal(baseUrl, Number(arg), arg2 === "entries" ? "entries" : "deserialize")
    case "serialization":
      return ours ? Serialization.runOurs(baseUrl, Number(arg)) : Serialization.runMsal(baseUrl, Number(arg))
    case "signatures":
      return ours ? Signatures.runOurs(baseUrl) : Signatures.runMsal(baseUrl)
    default:
      throw new Error(`unknown task ${String(task)}`)
  }
}

const result = await run()
process.stdout.write(`\n@@bench ${JSON.stringify(result)}\n`)
// background fibers or keep-alive sockets must not hold the process open
process.exit(0)
