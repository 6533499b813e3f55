import { afterAll, describe, expect, it } from "@effect/vitest"
import { Either, Redacted } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { X509Certificate } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import * as Pfx from "../../src/internal/credentials/pfx.js"
import * as Fixtures from "./fixtures.js"

const fx = Fixtures.make()
afterAll(fx.cleanup)

const passphrase = Redacted.make(Fixtures.PASSPHRASE)
const opensslFingerprint = (certPath: string) =>
  execFileSync("openssl", ["x509", "-in", certPath, "-noout", "-fingerprint", "-sha256"]).toString()
    .trim().split("=")[1]

const parse = (path: string, pass: Redacted.Redacted<string> | undefined) => Pfx.parse(readFileSync(path), pass, path)

describe("Pfx.parse", () => {
  for (const name of ["modern", "legacy", "windows", "noPassphrase"] as const) {
    it(`${name}: the key and the exact certificate bytes`, () => {
      const contents = Either.getOrThrow(parse(fx.pfx[name], name === "noPassphrase" ? undefined : passphrase))
      expect(contents.leaf.raw.equals(fx.a.cert.raw)).toBe(true)
      expect(contents.leaf.fingerprint256).toBe(opensslFingerprint(fx.a.certPath))
      expect(contents.issuers).toEqual([])
      expect(contents.privateKey.asymmetricKeyType).toBe("rsa")
      expect(contents.leaf.checkPrivateKey(contents.privateKey)).toBe(true)
    })
  }

  it("the encryption of each fixture is what it claims to be", () => {
    const info = (path: string) => {
      const run = spawnSync("openssl", [
        "pkcs12",
        "-in",
        path,
        "-info",
        "-noout",
        "-legacy",
        "-passin",
        `pass:${Fixtures.PASSPHRASE}`
      ])
      return `${run.stdout.toString()}${run.stderr.toString()}`
    }
    expect(info(fx.pfx.modern)).toMatch(/PBES2, PBKDF2, AES-256-CBC/)
    expect(info(fx.pfx.modern)).toMatch(/MAC: sha256/)
    expect(info(fx.pfx.legacy)).toMatch(/pbeWithSHA1And40BitRC2-CBC/)
    expect(info(fx.pfx.legacy)).toMatch(/pbeWithSHA1And3-KeyTripleDES-CBC/)
    expect(info(fx.pfx.windows)).not.toMatch(/RC2|AES/)
    expect(info(fx.pfx.windows)).toMatch(/MAC: sha1/)
  })

  it("orders the chain leaf first", () => {
    const contents = Either.getOrThrow(parse(fx.pfx.chain, passphrase))
    expect(contents.leaf.raw.equals(fx.leaf.cert.raw)).toBe(true)
    expect(contents.issuers.map((c) => c.raw.equals(fx.ca.cert.raw))).toEqual([true])
  })

  it("keeps the exact DER of certificates signed with ECDSA (which forge cannot re-encode)", () => {
    // Key b's certificate issued by the EC key's self-signed certificate.
    const csr = join(fx.dir, "ec-issued.csr")
    const crt = join(fx.dir, "ec-issued.crt")
    const out = join(fx.dir, "ec-issued.pfx")
    execFileSync("openssl", ["req", "-new", "-key", fx.b.keyPath, "-subj", "/CN=ec-issued", "-out", csr])
    execFileSync("openssl", [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      fx.ec.certPath,
      "-CAkey",
      fx.ec.keyPath,
      "-set_serial",
      "7",
      "-days",
      "30",
      "-out",
      crt
    ], { stdio: "ignore" })
    execFileSync("openssl", [
      "pkcs12",
      "-export",
      "-inkey",
      fx.b.keyPath,
      "-in",
      crt,
      "-certfile",
      fx.ec.certPath,
      "-out",
      out,
      "-passout",
      `pass:${Fixtures.PASSPHRASE}`
    ])
    const contents = Either.getOrThrow(parse(out, passphrase))
    expect(contents.leaf.raw.equals(new X509Certificate(readFileSync(crt)).raw)).toBe(true)
    expect(contents.issuers.map((c) => c.raw.equals(fx.ec.cert.raw))).toEqual([true])
  })

  it("reports a wrong passphrase without echoing it", () => {
    const result = parse(fx.pfx.legacy, Redacted.make("hunter2"))
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left.description).toMatch(/passphrase is wrong/)
      expect(JSON.stringify(result.left)).not.toContain("hunter2")
    }
  })
})
