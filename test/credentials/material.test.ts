import { afterAll, describe, expect, it } from "@effect/vitest"
import { Either, Redacted } from "effect"
import type { AuthorityKind } from "../../src/CredentialSigner.js"
import * as Material from "../../src/internal/credentials/material.js"
import * as Pem from "../../src/internal/credentials/pem.js"
import * as Thumbprint from "../../src/internal/credentials/thumbprint.js"
import * as Fixtures from "./fixtures.js"
import { sha1Of, sha256Of } from "./helpers.js"

const fx = Fixtures.make()
afterAll(fx.cleanup)

const hex1 = Buffer.from(sha1Of(fx.a.cert), "base64url").toString("hex")
const hex256 = Buffer.from(sha256Of(fx.a.cert), "base64url").toString("hex")

describe("Thumbprint.parse", () => {
  it("accepts any case, colons, spaces and dashes", () => {
    const expected = Buffer.from(hex1, "hex")
    for (
      const input of [
        hex1,
        hex1.toUpperCase(),
        hex1.match(/../g)!.join(":"),
        hex1.match(/../g)!.join(" "),
        ` ${hex1}\n`
      ]
    ) {
      const parsed = Thumbprint.parse(input, "sha1", "thumbprint")
      expect(Either.isRight(parsed) && Buffer.from(parsed.right).equals(expected)).toBe(true)
    }
  })

  it("rejects other lengths and non-hex, with a hint when the other kind fits", () => {
    const msg = (input: string, kind: Thumbprint.ThumbprintKind) =>
      Either.match(Thumbprint.parse(input, kind, "f"), { onLeft: (e) => e.description, onRight: () => "ok" })
    expect(msg(hex256, "sha1")).toMatch(/pass it as thumbprintSha256/)
    expect(msg(hex1, "sha256")).toMatch(/pass it as thumbprint$/)
    expect(msg("abc", "sha1")).toMatch(/40 hex digits, got 3/)
    expect(msg("g".repeat(40), "sha1")).toMatch(/hexadecimal/)
  })

  it("encodes base64url without padding", () => {
    expect(Thumbprint.toBase64Url(Buffer.from(hex1, "hex"))).toBe(sha1Of(fx.a.cert))
    expect(Thumbprint.toBase64Url(Buffer.from(hex1, "hex"))).toHaveLength(27)
  })
})

describe("Pem.parsePublicCertificate", () => {
  const body = fx.a.certPem.replace(/-----[A-Z ]+-----/g, "").trim()

  it("reads one block, an indented block, two blocks, and a bare base64 body", () => {
    const count = (pem: string) => Either.getOrThrow(Pem.parsePublicCertificate(pem, "publicCertificate")).length
    expect(count(fx.a.certPem)).toBe(1)
    expect(count(`   ${fx.a.certPem.replaceAll("\n", "\n      ")}`)).toBe(1)
    expect(count(fx.leaf.certPem + fx.ca.certPem)).toBe(2)
    expect(count(body)).toBe(1)
    expect(Either.getOrThrow(Pem.parsePublicCertificate(body, "p"))[0]!.raw.equals(fx.a.cert.raw)).toBe(true)
  })

  it("keeps the given order for x5c", () => {
    const chain = Either.getOrThrow(Pem.parsePublicCertificate(fx.leaf.certPem + fx.ca.certPem, "p"))
    expect(Pem.toX5c(chain)).toEqual([fx.leaf.cert.raw.toString("base64"), fx.ca.cert.raw.toString("base64")])
  })

  it("orders a chain from the key's certificate up", () => {
    const chain = Pem.chainFor(fx.leaf.privateKey, [fx.a.cert, fx.ca.cert, fx.leaf.cert])
    expect(chain?.leaf).toBe(fx.leaf.cert)
    expect(chain?.issuers).toEqual([fx.ca.cert])
    expect(Pem.chainFor(fx.b.privateKey, [fx.a.cert])).toBeUndefined()
  })
})

describe("Material.choose (MSAL Python's test_optional_thumbprint.py rules)", () => {
  type Given = Partial<Record<"thumbprint" | "thumbprintSha256" | "publicCertificate", string>>
  const cert = { publicCertificate: fx.a.certPem }
  const sha1 = { thumbprint: hex1 }
  const sha256 = { thumbprintSha256: hex256 }
  const rows: ReadonlyArray<readonly [string, Given, Record<AuthorityKind, "PS256" | "RS256">, boolean]> = [
    ["1. certificate only", cert, { Entra: "PS256", Adfs: "RS256", Oidc: "RS256" }, true],
    ["2. thumbprint only", sha1, { Entra: "RS256", Adfs: "RS256", Oidc: "RS256" }, false],
    ["3. thumbprint + certificate", { ...sha1, ...cert }, { Entra: "RS256", Adfs: "RS256", Oidc: "RS256" }, true],
    ["4. thumbprintSha256 only", sha256, { Entra: "PS256", Adfs: "PS256", Oidc: "PS256" }, false],
    ["5. both thumbprints", { ...sha1, ...sha256 }, { Entra: "PS256", Adfs: "RS256", Oidc: "RS256" }, false],
    [
      "   thumbprintSha256 + certificate",
      { ...sha256, ...cert },
      { Entra: "PS256", Adfs: "RS256", Oidc: "RS256" },
      true
    ],
    ["   all three", { ...sha1, ...sha256, ...cert }, { Entra: "PS256", Adfs: "RS256", Oidc: "RS256" }, true]
  ]

  for (const [name, given, expected, x5c] of rows) {
    it(name, () => {
      const material = Either.getOrThrow(Material.fromPem({ privateKey: Redacted.make(fx.a.pkcs8), ...given }))
      expect(material.x5c !== undefined).toBe(x5c)
      for (const kind of ["Entra", "Adfs", "Oidc"] as const) {
        const choice = Material.choose(material, kind)
        expect(choice.alg).toBe(expected[kind])
        expect(choice.header).toEqual(
          choice.alg === "PS256" ? { "x5t#S256": sha256Of(fx.a.cert) } : { x5t: sha1Of(fx.a.cert) }
        )
      }
    })
  }

  it("6. neither a thumbprint nor a certificate names both fields", () => {
    const result = Material.fromPem({ privateKey: Redacted.make(fx.a.pkcs8) })
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left.description).toContain("thumbprint")
      expect(result.left.description).toContain("publicCertificate")
    }
  })
})
