import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import type { CertificateFile, ClientCredential, Pfx as PfxCredential } from "../ClientCredential.js"
import type { AuthContext, ClientAuthFields, Options, Service } from "../CredentialSigner.js"
import { CredentialError } from "../MsalError.js"
import * as Assertion from "./credentials/assertion.js"
import * as FederatedTokenFile from "./credentials/federatedTokenFile.js"
import * as Files from "./credentials/files.js"
import * as Material from "./credentials/material.js"
import * as Pfx from "./credentials/pfx.js"
import { kindOf } from "./options.js"

/** The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2). @internal */
export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/**
 * Observation points for tests; they never see key material.
 *
 * @internal
 */
export interface Hooks {
  /** Called after each assertion this signer signs (not for reused ones). */
  readonly onSign?: ((context: AuthContext) => void) | undefined
  /** Called after each scheduled check of a credential file: `true` when it changed. */
  readonly onScheduledReload?: ((exit: Exit.Exit<boolean, CredentialError>) => void) | undefined
}

/**
 * The signer for a credential: validates it (failing with a `CredentialError`) and returns
 * the service. `hooks` are for tests only.
 *
 * @internal
 */
export const make = (
  credential: ClientCredential,
  options: Options = {},
  hooks: Hooks = {}
): Effect.Effect<Service, CredentialError, Scope.Scope> => {
  const problem = checkCredential(credential) ?? checkOptions(options)
  if (problem !== undefined) return Effect.fail(new CredentialError({ description: problem }))
  switch (credential._tag) {
    case "Secret":
      return secretSigner(credential.secret)
    case "Assertion":
      return staticAssertionSigner(credential.assertion)
    case "AssertionProvider":
      return providerSigner(credential.provide)
    case "FederatedTokenFile":
      return federatedTokenFileSigner(credential.path)
    case "Certificate":
      return keySigner(constantSource(Material.fromPem(credential)), options, hooks)
    case "Pfx": {
      const source = pfxSource(credential)
      return source === undefined
        ? Effect.fail(new CredentialError({ description: "a PFX credential needs a path or bytes" }))
        : keySigner(source, options, hooks)
    }
    case "CertificateFile":
      return keySigner(certificateFileSource(credential), options, hooks)
  }
}

/**
 * Where a PFX credential's material comes from: its file (read again on reload), else its
 * bytes; `undefined` when it has neither.
 */
const pfxSource = (credential: PfxCredential): Source | undefined => {
  const send = credential.sendCertificateChain === true
  if (credential.path !== undefined) {
    const path = credential.path
    return fileSource(
      path,
      "PFX file",
      (bytes) => Either.map(Pfx.parse(bytes, credential.passphrase, path), (c) => Material.fromChain(c, send))
    )
  }
  if (credential.bytes !== undefined) {
    return constantSource(
      Either.map(
        Pfx.parse(credential.bytes, credential.passphrase, "the PFX bytes"),
        (c) => Material.fromChain(c, send)
      )
    )
  }
  return undefined
}

/** A certificate file's material: a PEM bundle or a PFX, told apart by its content, read again on reload. */
const certificateFileSource = (credential: CertificateFile): Source => {
  const { passphrase, path } = credential
  const send = credential.sendCertificateChain === true
  return fileSource(path, "certificate file", (bytes) =>
    Either.map(
      looksLikePem(bytes)
        ? Material.pemBundle(Redacted.make(Buffer.from(bytes).toString("utf8")), passphrase, path)
        : Pfx.parse(bytes, passphrase, path),
      (c) => Material.fromChain(c, send)
    ))
}

const TAGS: ReadonlySet<unknown> = new Set([
  "Secret",
  "Certificate",
  "Pfx",
  "CertificateFile",
  "Assertion",
  "AssertionProvider",
  "FederatedTokenFile"
])

/** A `Redacted` field holding something else than a string: what was given, never its value. */
const notText = (value: unknown): string | undefined => {
  const inner = Redacted.isRedacted(value) ? Redacted.value(value) : value
  return typeof inner === "string" ? undefined : kindOf(inner)
}

const optionalText = (value: unknown): boolean => value === undefined || typeof value === "string"

/**
 * What is wrong with a credential given from untyped code (an unset environment variable, a
 * hand-written object), before anything reads it; messages name the constructor and the kind
 * of value given, never the value.
 */
const checkCredential = (credential: unknown): string | undefined => {
  if (!Predicate.isRecord(credential) || !TAGS.has(credential._tag)) {
    return `the credential is not a ClientCredential (got ${kindOf(credential)}): ` +
      "build one with ClientCredential.secret, certificate, certificateFile, pfx, assertion, assertionProvider or federatedTokenFile"
  }
  const c = credential as unknown as ClientCredential
  switch (c._tag) {
    case "Secret": {
      const kind = notText(c.secret)
      return kind === undefined
        ? undefined
        : `the client secret is missing: ClientCredential.secret was given ${kind}, not a string`
    }
    case "Assertion": {
      const kind = notText(c.assertion)
      return kind === undefined
        ? undefined
        : `the client assertion is missing: ClientCredential.assertion was given ${kind}, not a string`
    }
    case "AssertionProvider":
      return Effect.isEffect(c.provide)
        ? undefined
        : `ClientCredential.assertionProvider needs an Effect producing the assertion (got ${kindOf(c.provide)})`
    case "FederatedTokenFile":
      return typeof c.path === "string" && c.path.length > 0
        ? undefined
        : `ClientCredential.federatedTokenFile needs the path of the token file (got ${kindOf(c.path)})`
    case "CertificateFile":
      if (typeof c.path !== "string" || c.path.length === 0) {
        return `ClientCredential.certificateFile needs a path (got ${kindOf(c.path)})`
      }
      return c.passphrase === undefined || notText(c.passphrase) === undefined
        ? undefined
        : "ClientCredential.certificateFile: passphrase must be a string"
    case "Pfx":
      if (c.path !== undefined && (typeof c.path !== "string" || c.path.length === 0)) {
        return `ClientCredential.pfx: path must be a file path (got ${kindOf(c.path)})`
      }
      if (c.bytes !== undefined && !(c.bytes instanceof Uint8Array)) {
        return `ClientCredential.pfx: bytes must be a Uint8Array or Buffer (got ${kindOf(c.bytes)})`
      }
      return c.passphrase === undefined || notText(c.passphrase) === undefined
        ? undefined
        : "ClientCredential.pfx: passphrase must be a string"
    case "Certificate": {
      const kind = notText(c.privateKey)
      if (kind !== undefined) {
        return `ClientCredential.certificate needs privateKey, a PEM private key (got ${kind})`
      }
      for (const field of ["thumbprint", "thumbprintSha256", "publicCertificate"] as const) {
        if (!optionalText(c[field]))
          return `ClientCredential.certificate: ${field} must be a string (got ${kindOf(c[field])})`
      }
      return c.passphrase === undefined || notText(c.passphrase) === undefined
        ? undefined
        : "ClientCredential.certificate: passphrase must be a string"
    }
  }
}

const checkOptions = (options: unknown): string | undefined => {
  if (options === undefined) return undefined
  if (!Predicate.isRecord(options)) return `the signer options must be an object (got ${kindOf(options)})`
  const every = options.reloadEvery
  return every === undefined || Option.isSome(Duration.decodeUnknown(every))
    ? undefined
    : `reloadEvery must be a duration such as "1 hour" (got ${kindOf(every)})`
}

const looksLikePem = (bytes: Uint8Array): boolean => Buffer.from(bytes).includes("-----BEGIN")

const assertionFields = (jwt: Redacted.Redacted<string>): ClientAuthFields => ({
  client_assertion_type: Redacted.make(JWT_BEARER),
  client_assertion: jwt
})

const secretSigner = (secret: Redacted.Redacted<string>): Effect.Effect<Service, CredentialError> =>
  Redacted.value(secret).length === 0
    ? Effect.fail(new CredentialError({ description: "The client secret is empty" }))
    : Effect.succeed({
      clientAuth: () => Effect.succeed({ client_secret: secret }),
      reload: Effect.void
    })

const staticAssertionSigner = (assertion: Redacted.Redacted<string>): Effect.Effect<Service, CredentialError> =>
  Redacted.value(assertion).trim().length === 0
    ? Effect.fail(new CredentialError({ description: "the client assertion is empty" }))
    : Effect.succeed({
      clientAuth: () => Effect.succeed(assertionFields(assertion)),
      reload: Effect.void
    })

const providerSigner = (
  provide: Effect.Effect<string | Redacted.Redacted<string>, unknown>
): Effect.Effect<Service, CredentialError> =>
  Effect.succeed({
    clientAuth: () =>
      provide.pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.interrupt
            : Effect.fail(
              new CredentialError({ description: "the assertion provider failed", cause: Cause.squash(cause) })
            )
        ),
        Effect.flatMap((value) => {
          const jwt = Redacted.isRedacted(value) ? value : Redacted.make(value)
          return Redacted.value(jwt).trim().length === 0
            ? Effect.fail(new CredentialError({ description: "the assertion provider returned an empty assertion" }))
            : Effect.succeed(assertionFields(jwt))
        })
      ),
    reload: Effect.void
  })

const federatedTokenFileSigner = (path: string): Effect.Effect<Service, CredentialError> =>
  Effect.map(FederatedTokenFile.make(path), (file) => ({
    clientAuth: () => Effect.map(file.token, assertionFields),
    reload: file.reload
  }))

/** Where a certificate credential's material comes from. */
interface Source {
  /** The raw content; a change of it means new material. */
  readonly read: Effect.Effect<Uint8Array, CredentialError>
  readonly parse: (bytes: Uint8Array) => Either.Either<Material.SigningMaterial, CredentialError>
  /** Whether reading again can give something new (a file), so it is worth scheduling. */
  readonly rotates: boolean
}

const constantSource = (material: Either.Either<Material.SigningMaterial, CredentialError>): Source => ({
  read: Effect.succeed(new Uint8Array(0)),
  parse: () => material,
  rotates: false
})

const fileSource = (
  path: string,
  what: string,
  parse: (bytes: Uint8Array) => Either.Either<Material.SigningMaterial, CredentialError>
): Source => ({ read: Files.read(path, what), parse, rotates: true })

interface Current {
  readonly digest: string
  readonly material: Material.SigningMaterial
}

const load = (source: Source, bytes: Uint8Array): Either.Either<Current, CredentialError> =>
  Either.map(source.parse(bytes), (material) => ({
    digest: createHash("sha256").update(bytes).digest("base64"),
    material
  }))

interface Reused extends Assertion.Signed {
  readonly issuedAt: number
}

/**
 * The state of a key signer: the material in use and the assertions it reuses. `reused` is
 * guarded by `lock`: a request reads or fills it, and a reload empties it, one at a time.
 * Reads of the source are numbered so that a slow, older read never replaces what a newer one
 * loaded.
 */
interface KeyState {
  readonly source: Source
  readonly current: Ref.Ref<Current>
  readonly reused: Map<string, Reused>
  readonly lock: Effect.Semaphore
  readsStarted: number
  readApplied: number
}

/** The `reloadEvery` option as a duration (`undefined` when unset); it must be positive. */
const reloadEveryOf = (options: Options): Effect.Effect<Duration.Duration | undefined, CredentialError> => {
  const every = options.reloadEvery === undefined ? undefined : Duration.decode(options.reloadEvery)
  return every !== undefined && !Duration.greaterThan(every, Duration.zero)
    ? Effect.fail(new CredentialError({ description: "reloadEvery must be a positive duration" }))
    : Effect.succeed(every)
}

/** Reads and parses the source once, for the signer's first material. */
const makeKeyState = (source: Source): Effect.Effect<KeyState, CredentialError> =>
  Effect.gen(function*() {
    const current = yield* Ref.make(yield* load(source, yield* source.read))
    const lock = yield* Effect.makeSemaphore(1)
    return { source, current, reused: new Map(), lock, readsStarted: 0, readApplied: 0 }
  })

/** Signs a new assertion for `context` (under the lock) and keeps it for reuse, dropping the stale ones. */
const signFresh = (state: KeyState, hooks: Hooks, context: AuthContext, key: string, now: number) =>
  Effect.gen(function*() {
    const { material } = yield* Ref.get(state.current)
    const signed = yield* Assertion.sign(material, context, now, crypto.randomUUID())
    hooks.onSign?.(context)
    for (const [k, entry] of state.reused) if (entry.renewAt <= now) state.reused.delete(k)
    state.reused.set(key, { ...signed, issuedAt: now })
    return signed.jwt
  }).pipe(Effect.withSpan("CredentialSigner.signAssertion"))

/** The client authentication fields: the assertion kept for this audience while it is fresh, else a new one. */
const clientAuthOf = (state: KeyState, hooks: Hooks) => (context: AuthContext) =>
  state.lock.withPermits(1)(Effect.gen(function*() {
    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const key = yield* Effect.try({
      try: () => Assertion.reuseKey(context),
      catch: () => new CredentialError({ description: "clientClaims must be serialisable as JSON" })
    })
    const cached = state.reused.get(key)
    const jwt = cached !== undefined && cached.issuedAt <= now && now < cached.renewAt
      ? cached.jwt
      : yield* signFresh(state, hooks, context, key, now)
    return assertionFields(Redacted.make(jwt))
  }))

/** Forgets the reused assertions and, unless a newer read was applied first, puts `next` in use. */
const swap = (state: KeyState, next: Current | undefined, ticket: number) =>
  state.lock.withPermits(1)(Effect.suspend(() => {
    state.reused.clear()
    if (next === undefined || ticket < state.readApplied) return Effect.void
    state.readApplied = ticket
    return Ref.set(state.current, next)
  }))

/** Reads the source (outside the lock, so requests are not held up by I/O) and parses it. */
const readSource = (state: KeyState): Effect.Effect<Current, CredentialError> =>
  Effect.flatMap(state.source.read, (bytes) => load(state.source, bytes))

/** The service's `reload`: new material from a file, and in any case no reused assertion. */
const reloadOf = (state: KeyState): Effect.Effect<void, CredentialError> =>
  Effect.gen(function*() {
    const ticket = ++state.readsStarted
    if (!state.source.rotates) return yield* swap(state, undefined, ticket)
    const next = yield* Effect.either(readSource(state))
    yield* swap(state, Either.getOrUndefined(next), ticket)
    if (Either.isLeft(next)) return yield* next.left
  })

/** The scheduled check: swaps in the file's material only when its content changed (`true` then). */
const reloadIfChangedOf = (state: KeyState): Effect.Effect<boolean, CredentialError> =>
  Effect.gen(function*() {
    const ticket = ++state.readsStarted
    const next = yield* readSource(state)
    if (next.digest === (yield* Ref.get(state.current)).digest) return false
    yield* swap(state, next, ticket)
    return true
  })

/** Checks the file every `every` for the signer's lifetime; a failed check logs a warning and keeps the old material. */
const scheduleReloads = (
  every: Duration.Duration,
  reloadIfChanged: Effect.Effect<boolean, CredentialError>,
  hooks: Hooks
): Effect.Effect<unknown, never, Scope.Scope> =>
  Effect.sleep(every).pipe(
    Effect.zipRight(Effect.exit(reloadIfChanged)),
    Effect.tap(Exit.match({
      onSuccess: () => Effect.void,
      onFailure: (cause) =>
        Effect.logWarning("effect-msal: the credential could not be reloaded; the previous one stays in use", {
          description: Option.match(Cause.failureOption(cause), {
            onNone: () => "unexpected failure",
            onSome: (e) => e.description
          })
        })
    })),
    Effect.tap((exit) => Effect.sync(() => hooks.onScheduledReload?.(exit))),
    Effect.forever,
    Effect.forkScoped
  )

/**
 * A signer for a private key: signs assertions, reuses each one for its audience until less
 * than a minute of it remains, and swaps in new material on `reload` and on the schedule.
 */
const keySigner = (
  source: Source,
  options: Options,
  hooks: Hooks
): Effect.Effect<Service, CredentialError, Scope.Scope> =>
  Effect.gen(function*() {
    const every = yield* reloadEveryOf(options)
    const state = yield* makeKeyState(source)
    if (every !== undefined && source.rotates) yield* scheduleReloads(every, reloadIfChangedOf(state), hooks)
    return { clientAuth: clientAuthOf(state, hooks), reload: reloadOf(state) }
  })
