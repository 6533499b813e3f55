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

type KeyKind = "rsa2048" | "rsa1024" | "ec"

/** A test key: `keys/<name>.key`, checked to be of the kind its fixture promises. */
const testKey = (name: string, kind: KeyKind): KeyObject => {
  const key = createPrivateKey(readFileSync(join(KEYS, `${name}.key`), "utf8"))
  const actual = key.asymmetricKeyType === "ec"
    ? `ec-${key.asymmetricKeyDetails?.namedCurve}`
    : `${key.asymmetricKeyType}${key.asymmetricKeyDetails?.modulusLength}`
  const expected = kind === "ec" ? "ec-prime256v1" : kind
  if (actual !== expected) throw new Error(`test key ${name} is ${actual}, not ${expected}`)
  return key
}

/** What a key pair is made of, as text: the same in every test file. */
interface PairText {
  readonly name: string
  readonly pkcs8: string
  readonly pkcs1: string
  readonly encrypted: string
  readonly certPem: string
}

/** Runs `work` in a new temporary directory, removed afterwards. */
const inScratch = <A>(work: (dir: string) => A): A => {
  const dir = mkdtempSync(join(tmpdir(), "effect-msal-fixture-"))
  try {
    return work(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Writes a pair's key and certificate into `dir`: their paths. */
const writePair = (dir: string, pair: PairText) => {
  const keyPath = join(dir, `${pair.name}.key`)
  const certPath = join(dir, `${pair.name}.crt`)
  writeFileSync(keyPath, pair.pkcs8)
  writeFileSync(certPath, pair.certPem)
  return { keyPath, certPath }
}

/** A test key with its certificate: self-signed, or issued by `issuer`. */
const makePairText = (name: string, kind: KeyKind, issuer?: PairText): PairText => {
  const privateKey = testKey(name, kind)
  const pkcs8 = privateKey.export({ type: "pkcs8", format: "pem" }).toString()
  const pkcs1 = kind === "ec" ? "" : privateKey.export({ type: "pkcs1", format: "pem" }).toString()
  const encrypted = privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: PASSPHRASE })
    .toString()
  const certPem = inScratch((dir) => {
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
      const ca = writePair(dir, issuer)
      openssl(["req", "-new", "-key", keyPath, "-subj", `/CN=${name}`, "-out", csr])
      openssl([
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca.certPath,
        "-CAkey",
        ca.keyPath,
        "-set_serial",
        "2",
        "-days",
        "30",
        "-sha256",
        "-out",
        certPath
      ])
    }
    return readFileSync(certPath, "utf8")
  })
  return { name, pkcs8, pkcs1, encrypted, certPem }
}

/** `openssl pkcs12 -export` of `pair`'s key and certificate (the certificate only with `-nokeys`). */
const opensslPfx = (pair: PairText, args: ReadonlyArray<string>): Buffer =>
  inScratch((dir) => {
    const { certPath, keyPath } = writePair(dir, pair)
    const out = join(dir, "out.pfx")
    const input = args.includes("-nokeys") ? ["-in", certPath] : ["-inkey", keyPath, "-in", certPath]
    openssl(["pkcs12", "-export", ...input, ...args, "-out", out])
    return readFileSync(out)
  })

/** A PKCS#12 written by node-forge: `key`, then `certs` in the order given. */
const forgePfx = (key: PairText, certs: ReadonlyArray<PairText>, algorithm: "3des" | "aes256"): Buffer => {
  const p12 = forge.pkcs12.toPkcs12Asn1(
    forge.pki.privateKeyFromPem(key.pkcs1),
    certs.map((c) => forge.pki.certificateFromPem(c.certPem)),
    PASSPHRASE,
    { algorithm }
  )
  return Buffer.from(forge.asn1.toDer(p12).getBytes(), "binary")
}

const lazy = <A>(make: () => A): () => A => {
  let value: { readonly a: A } | undefined
  return () => (value ??= { a: make() }).a
}

/**
 * Certificates and PKCS#12 files, each made on first use, once per process: the test files
 * of one worker share one module graph (vitest.config.ts), so the `openssl` and node-forge
 * work is paid once, not per file. Files are written by `make`, per test file.
 */
const shared = (() => {
  const a = lazy(() => makePairText("a", "rsa2048"))
  const b = lazy(() => makePairText("b", "rsa2048"))
  const ca = lazy(() => makePairText("ca", "rsa2048"))
  const leaf = lazy(() => makePairText("leaf", "rsa2048", ca()))
  const small = lazy(() => makePairText("small", "rsa1024"))
  const ec = lazy(() => makePairText("ec", "ec"))
  const pass = `pass:${PASSPHRASE}`
  const pfx = {
    modern: lazy(() => opensslPfx(a(), ["-passout", pass])),
    legacy: lazy(() => opensslPfx(a(), ["-legacy", "-passout", pass])),
    windows: lazy(() =>
      opensslPfx(a(), ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1", "-passout", pass])
    ),
    // The CA's certificate before the leaf's, to check that the chain is put in order.
    chain: lazy(() => forgePfx(leaf(), [ca(), leaf()], "aes256")),
    noPassphrase: lazy(() => opensslPfx(a(), ["-passout", "pass:"])),
    noKey: lazy(() => opensslPfx(a(), ["-nokeys", "-passout", pass])),
    mismatched: lazy(() => forgePfx(b(), [a()], "3des")),
    small: lazy(() => opensslPfx(small(), ["-passout", pass])),
    rotated: lazy(() => opensslPfx(b(), ["-passout", pass]))
  }
  return { pairs: { a, b, ca, leaf, small, ec }, pfx }
})()

/** The fixtures of one test file, in its own temporary directory (`cleanup` removes it); each file is written on first use. */
export const make = (): Fixtures => {
  const dir = mkdtempSync(join(tmpdir(), "effect-msal-credentials-"))
  const pairOf = (text: () => PairText) =>
    lazy((): KeyPair => {
      const t = text()
      return {
        ...writePair(dir, t),
        pkcs8: t.pkcs8,
        pkcs1: t.pkcs1,
        encrypted: t.encrypted,
        certPem: t.certPem,
        cert: new X509Certificate(t.certPem),
        privateKey: createPrivateKey(t.pkcs8)
      }
    })
  const a = pairOf(shared.pairs.a)
  const b = pairOf(shared.pairs.b)
  const ca = pairOf(shared.pairs.ca)
  const leaf = pairOf(shared.pairs.leaf)
  const small = pairOf(shared.pairs.small)
  const ec = pairOf(shared.pairs.ec)
  const file = (name: string, bytes: () => Buffer) =>
    lazy(() => {
      const path = join(dir, `${name}.pfx`)
      writeFileSync(path, bytes())
      return path
    })
  const pfx = {
    modern: file("modern", shared.pfx.modern),
    legacy: file("legacy", shared.pfx.legacy),
    windows: file("windows", shared.pfx.windows),
    chain: file("chain", shared.pfx.chain),
    noPassphrase: file("nopass", shared.pfx.noPassphrase),
    noKey: file("nokey", shared.pfx.noKey),
    mismatched: file("mismatched", shared.pfx.mismatched),
    small: file("small", shared.pfx.small),
    rotated: file("rotated", shared.pfx.rotated)
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
