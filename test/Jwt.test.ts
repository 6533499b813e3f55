import { describe, expect, it } from "vitest"
import { decodeJwtPayload } from "../src/internal/jwt.js"

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url")

describe("decodeJwtPayload (unverified JWT payload, RFC 7519 §7.2)", () => {
  it("returns the claims of a compact JWT", () => {
    const token = `${b64url({ alg: "none" })}.${b64url({ tid: "t1", exp: 10 })}.sig`
    expect(decodeJwtPayload(token)).toEqual({ tid: "t1", exp: 10 })
  })

  it("throws on anything that is not three parts with a base64url JSON object payload, never echoing the token", () => {
    const bad = [
      "a.b",
      `${b64url({})}.${b64url({ a: 1 })}.s.x.y`,
      `${b64url({})}..s`,
      `${b64url({})}.${b64url({ a: 1 })}+/.s`,
      `${b64url({})}.${Buffer.from("not json").toString("base64url")}.s`,
      `${b64url({})}.${b64url([1, 2])}.s`,
      `${b64url({})}.${b64url("text")}.s`,
      `${b64url({})}.${b64url(null)}.s`
    ]
    for (const token of bad) {
      let message = ""
      expect(() => {
        try {
          decodeJwtPayload(token)
        } catch (e) {
          message = e instanceof Error ? e.message : String(e)
          throw e
        }
      }).toThrow()
      expect(message).not.toContain(token)
    }
  })
})
