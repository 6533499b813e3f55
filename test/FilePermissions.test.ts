import * as fs from "node:fs"
import * as nodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import type { CacheEntry as Entry } from "effect-msal"
import { TokenCache } from "effect-msal"
import * as Inspect from "../src/internal/cli/inspect.js"
import { accessToken, put } from "./cache/entries.js"
import { tempFiles } from "./support/tempFiles.js"

const { freshFile: fresh } = tempFiles("perm")
const modeOf = (path: string) => fs.statSync(path).mode & 0o777
const open = (path: string) =>
  Effect.provide(Effect.flatMap(TokenCache.TokenCache, (c) => c.list("AccessToken")), TokenCache.layerFile(path))

const token = (fields: Partial<Entry.AccessToken>): Entry.AccessToken => ({
  ...accessToken("scope", { secret: "secret" }),
  ...fields
})

const DAY = 24 * 60 * 60 * 1000

describe("file cache permissions", () => {
  it.effect("an existing cache file readable by others is restricted to 0600 when opened, before any write", () =>
    Effect.gen(function*() {
      const path = fresh()
      yield* Effect.provide(put(token({})), TokenCache.layerFile(path))
      fs.chmodSync(path, 0o644)
      const before = fs.statSync(path).mtimeMs
      expect(yield* open(path)).toHaveLength(1)
      expect(modeOf(path)).toBe(0o600)
      expect(fs.statSync(path).mtimeMs).toBe(before) // not rewritten
    }))

  it.effect("a damaged file moved aside is 0600", () =>
    Effect.gen(function*() {
      const path = fresh()
      fs.writeFileSync(path, "{ not json", { mode: 0o644 })
      fs.chmodSync(path, 0o644)
      yield* open(path)
      const aside = fs.readdirSync(nodePath.dirname(path)).filter((f) => f.startsWith("tokens.json.corrupt-"))
      expect(aside).toHaveLength(1)
      expect(modeOf(nodePath.join(nodePath.dirname(path), aside[0]!))).toBe(0o600)
    }))

  it.effect("moved-aside files are deleted 7 days after they were moved; younger ones are restricted to 0600", () =>
    Effect.gen(function*() {
      const path = fresh()
      const dir = nodePath.dirname(path)
      yield* TestClock.setTime(30 * DAY)
      const old = `tokens.json.corrupt-${30 * DAY - 7 * DAY - 1}-aaaaaa`
      const young = `tokens.json.corrupt-${30 * DAY - 7 * DAY + 60_000}-bbbbbb`
      const other = `other.json.corrupt-${DAY}-cccccc`
      for (const name of [old, young, other]) fs.writeFileSync(nodePath.join(dir, name), "{}", { mode: 0o644 })
      yield* open(path)
      expect(fs.readdirSync(dir).sort()).toEqual([other, young])
      expect(modeOf(nodePath.join(dir, young))).toBe(0o600)
      expect(modeOf(nodePath.join(dir, other))).toBe(0o644)
    }))
})

describe("cache inspect prints no control character from the file", () => {
  const hostile = "\u001b[2J\u001b]0;owned\u0007\u001b[31mred\u001b[0m\r\u0008\u009b6n\u202eevil"
  const snapshot: TokenCache.Snapshot = {
    entries: {
      AccessToken: [
        token({ client_id: `c${hostile}`, realm: `t${hostile}`, target: `s1 s2${hostile}`, environment: `e${hostile}` })
      ],
      RefreshToken: [],
      IdToken: [],
      Account: [],
      AppMetadata: []
    },
    unknown: { [`x${hostile}`]: {} }
  }
  const summary = Inspect.summarize(snapshot, 0)

  it("neither the text nor the JSON output holds an escape sequence or a control character", () => {
    const text = Inspect.render("tokens.json", summary)
    for (const out of [text, JSON.stringify(summary, null, 2)]) {
      expect(out).not.toMatch(/[\u001b\u0007\u0008\r\u009b\u202e]/)
      expect(out).not.toContain("\\u001b")
      expect(out).not.toContain("owned")
    }
    expect(text).toContain("credevil")
    expect(summary.accessTokens[0]).toMatchObject({
      client: "credevil",
      tenant: "tredevil",
      scopes: ["s1", "s2redevil"]
    })
    expect(summary.unknownSections).toEqual(["xredevil"])
  })
})
