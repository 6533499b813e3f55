import { afterAll, beforeAll } from "@effect/vitest"
import { Redacted } from "effect"
import { TokenCache } from "effect-msal"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import type { RedisServer } from "./cache/redisServer.js"
import { startRedis } from "./cache/redisServer.js"
import { storeContract } from "./cache/storeContract.js"

let redis: RedisServer | undefined
const root = fs.mkdtempSync(nodePath.join(os.tmpdir(), "effect-msal-contract-"))
let n = 0

beforeAll(async () => {
  redis = await startRedis()
}, 30_000)
afterAll(async () => {
  await redis?.stop()
  fs.rmSync(root, { recursive: true, force: true })
})

storeContract("memory", {
  shared: false,
  location: () => () => TokenCache.layerMemory()
})

storeContract("file", {
  shared: true,
  location: () => {
    const path = nodePath.join(root, `cache-${++n}.json`)
    return () => TokenCache.layerFile(path)
  }
})

storeContract("encrypted file", {
  shared: true,
  location: () => {
    const path = nodePath.join(root, `cache-${++n}.json`)
    const key = { id: "k1", key: Redacted.make(randomBytes(32)) }
    return () => TokenCache.layerFile(path, { encryption: { key } })
  }
})

storeContract("Redis", {
  shared: true,
  timeout: 30_000,
  location: () => {
    const prefix = `contract-${++n}:`
    return () => TokenCache.layerRedis({ url: redis!.url, prefix })
  }
})
