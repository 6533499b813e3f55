/**
 * Certificates and PKCS#12 files made at test time (the `openssl` command and node-forge) in a
 * temporary directory, for fixed test keys committed in test/credentials/keys: generating
 * them took about half a second a key on a loaded machine, for every test file using them.
 * The keys are test material only; they protect nothing.
 */
import { execFileSync } from "node:child_process"
import type { KeyObject } from "node:crypto"
import { createPrivateKey, X509Certificate } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import forge from "node-forge"

/** The passphrase of every encrypted key and PFX made here. */
export const PASSPHRASE = "fixture-Pa55phrase!"

export interface KeyPair {
  /** PKCS#8 PEM. */
  readonly pkcs8: string
  /** PKCS#1 (`RSA PRIVATE KEY`) PEM; RSA keys only. */
  readonly pkcs1: string
  /** Encrypted PKCS#8 PEM, with `PASSPHRASE`. */
  readonly encrypted: string
  /** The certificate, PEM. */
  readonly certPem: string
  readonly cert: X509Certificate
  readonly privateKey: KeyObject
  readonly keyPath: string
  readonly certPath: string
}

export interface Fixtures {
  readonly dir: string
  /** Self-signed RSA 2048. */
  readonly a: KeyPair
  /** Another self-signed RSA 2048 (rotation, mismatches). */
  readonly b: KeyPair
  /** A CA and a leaf it issued. */
  readonly ca: KeyPair
  readonly leaf: KeyPair
  /** RSA 1024: too small. */
  readonly small: KeyPair
  /** EC P-256: not RSA. */
  readonly ec: KeyPair
  readonly pfx: {
    /** OpenSSL 3 default: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC, MAC SHA-256. Key a. */
    readonly modern: string
    /** `-legacy`: RC2-40 certificate bag, 3DES key bag, MAC SHA-1. Key a. */
    readonly legacy: string
    /** Windows-export-like: 3DES for both bags, MAC SHA-1. Key a. */
    readonly windows: string
    /** Leaf key, CA cert then leaf cert (written by node-forge, AES-256): the order must be fixed. */
    readonly chain: string
    /** No passphrase (empty password). Key a. */
    readonly noPassphrase: string
    /** Certificate only. */
    readonly noKey: string
    /** Key b with certificate a. */
    readonly mismatched: string
    /** The 1024-bit key. */
    readonly small: string
    /** Key b (rotation target). */
    readonly rotated: string
  }
  readonly cleanup: () => void
}

const openssl = (args: ReadonlyArray<string>) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] })

/** The committed test keys (PKCS#8 PEM), by fixture name. */
const KEYS = fileURLToPath(new URL("./keys/", import.meta.url))

/** A test key: `keys/<name>.key`, checked to be of the kind its fixture promises. */
const testKey = (name: string, kind: "rsa2048" | "rsa1024" | "ec"): KeyObject => {
  const key = createPrivateKey(readFileSync(join(KEYS, `${name}.key`), "utf8"))
  const actual = key.asymmetricKeyType === "ec"
    ? `ec-${key.asymmetricKeyDetails?.namedCurve}`
    : `${key.asymmetricKeyType}${key.asymmetricKeyDetails?.modulusLength}`
  const expected = kind === "ec" ? "ec-prime256v1" : kind
  if (actual !== expected) throw new Error(`test key ${name} is ${actual}, not ${expected}`)
  return key
}

const makePair = (dir: string, name: string, kind: "rsa2048" | "rsa1024" | "ec", issuer?: KeyPair): KeyPair => {
  const privateKey = testKey(name, kind)
  const pkcs8 = privateKey.export({ type: "pkcs8", format: "pem" }).toString()
  const pkcs1 = kind === "ec" ? "" : privateKey.export({ type: "pkcs1", format: "pem" }).toString()
  const encrypted = privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: PASSPHRASE })
    .toString()
  const keyPath = join(dir, `${name}.key`)
  const certPath = join(dir, `${name}.crt`)
  writeFileSync(keyPath, pkcs8)
  if (issuer === undefined) {
    openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      keyPath,
      "-subj",
      `/CN=${name}`,
      "-days",
      "30",
      "-sha256",
      "-out",
      certPath
    ])
  } else {
    const csr = join(dir, `${name}.csr`)
    openssl(["req", "-new", "-key", keyPath, "-subj", `/CN=${name}`, "-out", csr])
    openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      issuer.certPath,
      "-CAkey",
      issuer.keyPath,
      "-set_serial",
      "2",
      "-days",
      "30",
      "-sha256",
      "-out",
      certPath
    ])
  }
  const certPem = readFileSync(certPath, "utf8")
  return { pkcs8, pkcs1, encrypted, certPem, cert: new X509Certificate(certPem), privateKey, keyPath, certPath }
}

const exportPfx = (dir: string, name: string, args: ReadonlyArray<string>): string => {
  const out = join(dir, `${name}.pfx`)
  openssl(["pkcs12", "-export", ...args, "-out", out])
  return out
}

const lazy = <A>(make: () => A): () => A => {
  let value: { readonly a: A } | undefined
  return () => (value ??= { a: make() }).a
}

/** The fixtures, each made on first use (a test file pays only for the certificates and files it touches). */
export const make = (): Fixtures => {
  const dir = mkdtempSync(join(tmpdir(), "effect-msal-credentials-"))
  const a = lazy(() => makePair(dir, "a", "rsa2048"))
  const b = lazy(() => makePair(dir, "b", "rsa2048"))
  const ca = lazy(() => makePair(dir, "ca", "rsa2048"))
  const leaf = lazy(() => makePair(dir, "leaf", "rsa2048", ca()))
  const small = lazy(() => makePair(dir, "small", "rsa1024"))
  const ec = lazy(() => makePair(dir, "ec", "ec"))
  const pass = `pass:${PASSPHRASE}`
  const keyAndCert = (p: KeyPair) => ["-inkey", p.keyPath, "-in", p.certPath]
  const forgePfx = (name: string, key: KeyPair, certs: ReadonlyArray<KeyPair>, algorithm: "3des" | "aes256") => {
    const out = join(dir, `${name}.pfx`)
    const p12 = forge.pkcs12.toPkcs12Asn1(
      forge.pki.privateKeyFromPem(key.pkcs1),
      certs.map((c) => forge.pki.certificateFromPem(c.certPem)),
      PASSPHRASE,
      { algorithm }
    )
    writeFileSync(out, Buffer.from(forge.asn1.toDer(p12).getBytes(), "binary"))
    return out
  }
  const pfx = {
    modern: lazy(() => exportPfx(dir, "modern", [...keyAndCert(a()), "-passout", pass])),
    legacy: lazy(() => exportPfx(dir, "legacy", ["-legacy", ...keyAndCert(a()), "-passout", pass])),
    windows: lazy(() =>
      exportPfx(dir, "windows", [
        ...keyAndCert(a()),
        "-keypbe",
        "PBE-SHA1-3DES",
        "-certpbe",
        "PBE-SHA1-3DES",
        "-macalg",
        "sha1",
        "-passout",
        pass
      ])
    ),
    // The CA's certificate before the leaf's, to check that the chain is put in order.
    chain: lazy(() => forgePfx("chain", leaf(), [ca(), leaf()], "aes256")),
    noPassphrase: lazy(() => exportPfx(dir, "nopass", [...keyAndCert(a()), "-passout", "pass:"])),
    noKey: lazy(() => exportPfx(dir, "nokey", ["-nokeys", "-in", a().certPath, "-passout", pass])),
    mismatched: lazy(() => forgePfx("mismatched", b(), [a()], "3des")),
    small: lazy(() => exportPfx(dir, "small", [...keyAndCert(small()), "-passout", pass])),
    rotated: lazy(() => exportPfx(dir, "rotated", [...keyAndCert(b()), "-passout", pass]))
  }
  return {
    dir,
    get a() {
      return a()
    },
    get b() {
      return b()
    },
    get ca() {
      return ca()
    },
    get leaf() {
      return leaf()
    },
    get small() {
      return small()
    },
    get ec() {
      return ec()
    },
    pfx: {
      get modern() {
        return pfx.modern()
      },
      get legacy() {
        return pfx.legacy()
      },
      get windows() {
        return pfx.windows()
      },
      get chain() {
        return pfx.chain()
      },
      get noPassphrase() {
        return pfx.noPassphrase()
      },
      get noKey() {
        return pfx.noKey()
      },
      get mismatched() {
        return pfx.mismatched()
      },
      get small() {
        return pfx.small()
      },
      get rotated() {
        return pfx.rotated()
      }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true })
  }
}

/** The base64 body lines of a PEM text: none may appear in an error. */
export const pemBodyChunks = (pem: string): ReadonlyArray<string> =>
  pem.split("\n").filter((line) => line.length >= 40 && !line.startsWith("-----"))

/** A private key as a KeyObject from PEM (for checks in tests). */
export const keyOf = (pem: string): KeyObject => createPrivateKey(pem)
