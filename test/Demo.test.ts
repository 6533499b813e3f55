import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { promisify } from "node:util"

describe("npm start", () => {
  it.live("npm start: effect-msal demo runs against the embedded authority and exits 0", () =>
    Effect.promise(() => promisify(execFile)(process.execPath, ["--import", "tsx", "src/bin/effect-msal.ts", "demo"], { timeout: 30_000 })).pipe(
      Effect.map(({ stdout }) => {
        expect(stdout).toContain("from the cache")
        expect(stdout).toContain("100 callers got 1 token from 1 request")
        expect(stdout).toContain("ServerError invalid_scope")
        expect(stdout).toContain("same user token again        from the cache")
        expect(stdout).toContain("silent, next page            from the cache")
        expect(stdout).toContain("TokenNotFound")
        expect(stdout).toMatch(/signed (PS256|RS256) with x5t/)
        expect(stdout).not.toContain("demo-secret")
        expect(stdout).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/) // no JWT, ever
      })
    ), 60_000)
})
