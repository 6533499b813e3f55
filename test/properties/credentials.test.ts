/**
 * Certificate bytes at the boundary, ≥ 200 generated cases each: PEM keys and certificates
 * and PKCS#12 (PFX) files with bytes flipped, cut short, spliced or replaced, with the right or
 * a wrong passphrase. Property: a signer that signs, or a typed `CredentialError` — never a
 * defect, never key material or the passphrase in the error.
 */
import { Effect, Exit, FastCheck as fc, Redacted } from "effect"
import { ClientCredential, CredentialSigner } from "effect-msal"
import { readFileSync } from "node:fs"
import { afterAll, describe, expect, it } from "vitest"
import * as Fixtures from "../credentials/fixtures.js"
import { CLIENT_ID, expectNoSecret, typedFailure } from "./support.js"

/** The cases per property (PFX cases run PBKDF2, still well under a second each). */
const RUNS = 200
const fixtures = Fixtures.make()
afterAll(() => fixtures.cleanup())

type Damage =
  | { readonly _tag: "None" }
  | { readonly _tag: "Flip"; readonly at: number; readonly mask: number }
  | { readonly _tag: "Cut"; readonly at: number }
  | { readonly _tag: "Splice"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly _tag: "Random"; readonly bytes: Uint8Array }

const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ _tag: "None" as const }) },
  {
    weight: 4,
    arbitrary: fc.record({ _tag: fc.constant("Flip" as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("Cut" as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      _tag: fc.constant("Splice" as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 })
    })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("Random" as const), bytes: fc.uint8Array({ maxLength: 64 }) }) }
)

const apply = (bytes: Uint8Array, d: Damage): Uint8Array => {
  const copy = Uint8Array.from(bytes)
  switch (d._tag) {
    case "None":
      return copy
    case "Flip":
      copy[d.at % copy.length] = copy[d.at % copy.length]! ^ d.mask
      return copy
    case "Cut":
      return copy.subarray(0, d.at % (copy.length + 1))
    case "Splice": {
      const at = d.at % (copy.length + 1)
      return Uint8Array.from([...copy.subarray(0, at), ...d.bytes, ...copy.subarray(at)])
    }
    case "Random":
      return d.bytes
  }
}

/** Builds the signer and, when there is one, signs an assertion with it. */
const attempt = (credential: ClientCredential.ClientCredential) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(CredentialSigner.make(credential), (signer) =>
        signer.clientAuth({
          clientId: CLIENT_ID,
          tokenEndpoint: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
          authorityKind: "Entra"
        }))
    ).pipe(Effect.exit)
  )

const expectSignedOrTyped = (
  exit: Exit.Exit<Readonly<Record<string, Redacted.Redacted<string>>>, unknown>,
  secrets: ReadonlyArray<string>
) => {
  const error = typedFailure(exit)
  if (error !== undefined) {
    expect(error._tag).toBe("CredentialError")
    expectNoSecret(error, secrets)
  } else if (Exit.isSuccess(exit)) {
    const assertion = Redacted.value(exit.value.client_assertion!)
    expect(assertion.split(".")).toHaveLength(3)
  }
}

describe("PEM (property)", () => {
  it(`a damaged PEM key or certificate signs or is a CredentialError without key material (${RUNS} cases)`, async () => {
    const pair = fixtures.a
    const secrets = [
      ...Fixtures.pemBodyChunks(pair.pkcs8),
      ...Fixtures.pemBodyChunks(pair.encrypted),
      Fixtures.PASSPHRASE
    ]
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("pkcs8", "pkcs1", "encrypted"),
        fc.constantFrom("key", "certificate"),
        damage,
        fc.boolean(),
        async (form, target, d, rightPassphrase) => {
          const key = form === "pkcs8" ? pair.pkcs8 : form === "pkcs1" ? pair.pkcs1 : pair.encrypted
          const damaged = (text: string) => new TextDecoder().decode(apply(new TextEncoder().encode(text), d))
          const exit = await attempt(ClientCredential.certificate({
            privateKey: target === "key" ? damaged(key) : key,
            publicCertificate: target === "certificate" ? damaged(pair.certPem) : pair.certPem,
            ...(form === "encrypted"
              ? { passphrase: rightPassphrase ? Fixtures.PASSPHRASE : "a-wrong-passphrase" }
              : {})
          }))
          expectSignedOrTyped(exit, [...secrets, "a-wrong-passphrase"])
        }
      ),
      { numRuns: RUNS }
    )
  })
})

describe("PFX (property)", () => {
  it(`damaged PKCS#12 bytes sign or are a CredentialError without the passphrase (${RUNS} cases)`, async () => {
    const files = {
      modern: readFileSync(fixtures.pfx.modern),
      legacy: readFileSync(fixtures.pfx.legacy),
      noPassphrase: readFileSync(fixtures.pfx.noPassphrase)
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("modern", "legacy", "noPassphrase"),
        damage,
        fc.constantFrom("right", "wrong", "none"),
        async (which, d, passphrase) => {
          const exit = await attempt(ClientCredential.pfx({
            bytes: apply(files[which as keyof typeof files], d),
            ...(passphrase === "none"
              ? {}
              : { passphrase: passphrase === "right" ? Fixtures.PASSPHRASE : "a-wrong-passphrase" })
          }))
          expectSignedOrTyped(exit, [
            Fixtures.PASSPHRASE,
            "a-wrong-passphrase",
            ...Fixtures.pemBodyChunks(fixtures.a.pkcs8)
          ])
        }
      ),
      { numRuns: RUNS }
    )
  })
})
