import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Entries, Section } from "../CacheEntry.js"
import { schemas, sections } from "../CacheEntry.js"
import { CacheError } from "../MsalError.js"
import type { Snapshot } from "../TokenCache.js"
import { canonicalEnvironment } from "./cacheKey.js"

type Encoded = Record<string, unknown>

/**
 * Which MSAL the serialised cache is written for. Both read the same unified schema; they
 * differ in a few values (see `adjust`). @internal
 */
import type { Format } from "../TokenCache.js"

export type { Format }

const PUBLIC_CLOUD = "login.microsoftonline.com"

const str = (v: unknown): string => (typeof v === "string" ? v : "")

/** The key MSAL writes for an encoded entry (fields as stored, no alias folding). @internal */
export const wireKey = (section: Section, e: Encoded): string => {
  const home = str(e.home_account_id)
  const env = str(e.environment)
  switch (section) {
    case "AccessToken": {
      const base = [home, env, "accesstoken", str(e.client_id), str(e.realm), str(e.target)].join("-").toLowerCase()
      return typeof e.user_assertion_hash === "string" ? `${base}-${e.user_assertion_hash}` : base
    }
    case "RefreshToken": {
      const base = [home, env, "refreshtoken", str(e.client_id), "", str(e.target)].join("-").toLowerCase()
      return typeof e.user_assertion_hash === "string" ? `${base}-${e.user_assertion_hash}` : base
    }
    case "IdToken":
      return [home, env, "idtoken", str(e.client_id), str(e.realm), ""].join("-").toLowerCase()
    case "Account":
      return [home, env, str(e.realm)].join("-").toLowerCase()
    case "AppMetadata":
      return `appmetadata-${env}-${str(e.client_id)}`
  }
}

const isCredential = (section: Section): boolean =>
  section === "AccessToken" || section === "RefreshToken" || section === "IdToken"

/**
 * The values each MSAL needs to serve an entry from its cache:
 * - msal-node matches app tokens on `home_account_id === ""` and OBO tokens on a camelCase
 *   `userAssertionHash`; it folds host aliases itself.
 * - MSAL Python matches app tokens on `home_account_id: null` and compares `environment`
 *   exactly with the authority's host (`login.microsoftonline.com` in the public cloud).
 */
const adjust = (section: Section, e: Encoded, format: Format): Encoded => {
  if (!isCredential(section)) {
    if (format === "msal-python" && typeof e.environment === "string") e.environment = pythonEnvironment(e.environment)
    return e
  }
  const home = e.home_account_id
  if (format === "msal-node") {
    if (home === null || home === undefined) e.home_account_id = ""
    if (typeof e.user_assertion_hash === "string") e.userAssertionHash = e.user_assertion_hash
  } else {
    if (home === "" || home === undefined) e.home_account_id = null
    if (typeof e.environment === "string") e.environment = pythonEnvironment(e.environment)
  }
  return e
}

const pythonEnvironment = (environment: string): string =>
  canonicalEnvironment(environment) === PUBLIC_CLOUD ? PUBLIC_CLOUD : environment

const encoders = {
  AccessToken: Schema.encodeSync(schemas.AccessToken),
  RefreshToken: Schema.encodeSync(schemas.RefreshToken),
  IdToken: Schema.encodeSync(schemas.IdToken),
  Account: Schema.encodeSync(schemas.Account),
  AppMetadata: Schema.encodeSync(schemas.AppMetadata)
} as unknown as { readonly [S in Section]: (entry: Entries[S]) => Encoded }

const AT_NUMBERS: ReadonlySet<string> = new Set(["cached_at", "expires_on", "extended_expires_on", "refresh_on"])

/**
 * The access-token encoder of `CacheEntry.AccessToken`, written out by hand (times back to
 * strings, the secret revealed, every other field as it is); checked against the Schema
 * encoder by a property test.
 */
const fastEncodeAccessToken = (entry: Entries["AccessToken"]): Encoded => {
  const out: Encoded = {}
  for (const key in entry) {
    const v = (entry as unknown as Record<string, unknown>)[key]
    if (v === undefined) continue
    out[key] = key === "secret" ? Redacted.value(v as Redacted.Redacted<string>) : AT_NUMBERS.has(key) ? String(v) : v
  }
  return out
}

/** One entry in the unified schema, as JSON-ready data. @internal */
export const encodeEntry = <S extends Section>(section: S, entry: Entries[S], format: Format = "msal-node"): Encoded =>
  adjust(
    section,
    section === "AccessToken"
      ? fastEncodeAccessToken(entry as Entries["AccessToken"])
      : { ...encoders[section](entry) },
    format
  )

/** The encoded sections (unknown entries and sections included), ready for `JSON.stringify`. @internal */
export const toJson = (snapshot: Snapshot, format: Format = "msal-node"): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const section of sections) {
    const bucket: Record<string, unknown> = {}
    const raw = snapshot.unknown[section]
    if (Predicate.isRecord(raw)) Object.assign(bucket, raw)
    for (const entry of snapshot.entries[section] as ReadonlyArray<Entries[Section]>) {
      const encoded = encodeEntry(section, entry, format)
      bucket[wireKey(section, encoded)] = encoded
    }
    if (Object.keys(bucket).length > 0) out[section] = bucket
  }
  for (const [k, v] of Object.entries(snapshot.unknown)) {
    if (!(sections as ReadonlyArray<string>).includes(k)) out[k] = v
  }
  return out
}

/**
 * The cache as MSAL writes it: compact JSON for msal-node, four-space indented JSON for MSAL
 * Python (as each of them writes it). @internal
 */
export const encode = (snapshot: Snapshot, format: Format = "msal-node"): string =>
  format === "msal-python"
    ? JSON.stringify(toJson(snapshot, format), null, 4)
    : JSON.stringify(toJson(snapshot, format))

const emptyEntries = (): { [S in Section]: Array<Entries[S]> } => ({
  AccessToken: [],
  RefreshToken: [],
  IdToken: [],
  Account: [],
  AppMetadata: []
})

/** An empty snapshot. @internal */
export const empty = (): Snapshot => ({ entries: emptyEntries(), unknown: {} })

const TIME_FIELDS: { readonly [S in Section]: ReadonlyArray<string> } = {
  AccessToken: ["cached_at", "expires_on", "extended_expires_on", "refresh_on"],
  RefreshToken: ["last_modification_time"],
  IdToken: [],
  Account: [],
  AppMetadata: []
}

/**
 * What other MSALs write differently, brought to one form before decoding: msal-node's
 * camelCase `userAssertionHash`, and epoch times written as numbers instead of strings.
 */
const normalize = (section: Section, raw: unknown): unknown => {
  if (!Predicate.isRecord(raw)) return raw
  let e: Record<string, unknown> | undefined
  const copy = () => (e ??= { ...raw })
  if (typeof raw.userAssertionHash === "string") {
    if (raw.user_assertion_hash === undefined) {
      copy().user_assertion_hash = raw.userAssertionHash
      delete copy().userAssertionHash
    } else if (raw.user_assertion_hash === raw.userAssertionHash) {
      delete copy().userAssertionHash
    }
  }
  for (const field of TIME_FIELDS[section]) {
    const v = raw[field]
    if (typeof v === "number" && Number.isFinite(v)) copy()[field] = String(Math.trunc(v))
  }
  return e ?? raw
}

const decoders = {
  AccessToken: Schema.decodeUnknownEither(schemas.AccessToken),
  RefreshToken: Schema.decodeUnknownEither(schemas.RefreshToken),
  IdToken: Schema.decodeUnknownEither(schemas.IdToken),
  Account: Schema.decodeUnknownEither(schemas.Account),
  AppMetadata: Schema.decodeUnknownEither(schemas.AppMetadata)
} as unknown as { readonly [S in Section]: (u: unknown) => Either.Either<Entries[S], unknown> }

/** Integer epoch seconds of at most 12 digits: always within what a `Date` holds (±8.64e12 s). */
const EPOCH = /^-?\d{1,12}$/
/** A token: not empty, not only white space. */
const BEARER = /\S/
const AT_STRINGS = ["environment", "client_id", "realm", "target"] as const
const AT_OPTIONAL_STRINGS = ["token_type", "key_id", "user_assertion_hash"] as const
const AT_TIMES = ["cached_at", "expires_on"] as const
const AT_OPTIONAL_TIMES = ["extended_expires_on", "refresh_on"] as const

/**
 * Strings repeated across the entries of one cache (hosts, client ids, tenants, scopes, token
 * types): the first copy met stands for all, so that a cache of many tokens keeps each once.
 */
type Pool = Map<string, string>

const AT_SHARED = ["credential_type", "home_account_id", "environment", "client_id", "realm", "target", "token_type"]

const share = (pool: Pool, e: Record<string, unknown>): void => {
  for (const f of AT_SHARED) {
    const v = e[f]
    if (typeof v !== "string") continue
    const first = pool.get(v)
    if (first === undefined) pool.set(v, v)
    else e[f] = first
  }
}

/** Whether every field the access-token type has is of its wire type (times still strings). */
const isWireAccessToken = (raw: Record<string, unknown>): boolean => {
  if (raw.credential_type !== "AccessToken" || typeof raw.secret !== "string" || !BEARER.test(raw.secret)) return false
  for (const f of AT_STRINGS) if (typeof raw[f] !== "string") return false
  for (const f of AT_OPTIONAL_STRINGS) if (raw[f] !== undefined && typeof raw[f] !== "string") return false
  const home = raw.home_account_id
  if (home !== undefined && home !== null && typeof home !== "string") return false
  for (const f of AT_TIMES) {
    const v = raw[f]
    if (typeof v !== "string" || !EPOCH.test(v)) return false
  }
  for (const f of AT_OPTIONAL_TIMES) {
    const v = raw[f]
    if (v !== undefined && (typeof v !== "string" || !EPOCH.test(v))) return false
  }
  return true
}

/**
 * The access-token decoder of `CacheEntry.AccessToken`, written out by hand: caches hold
 * mostly access tokens, and this is several times faster than the generic decoder. Anything
 * it does not recognise (an odd field type, a time that is not integer seconds) goes to the
 * Schema decoder, which has the last word. `owned`: `raw` was parsed for this decode and
 * nobody else holds it, so it becomes the entry itself instead of being copied.
 */
const fastAccessToken = (
  raw: Record<string, unknown>,
  owned: boolean,
  pool: Pool | undefined
): Entries["AccessToken"] | undefined => {
  if (!isWireAccessToken(raw)) return undefined
  let out: Record<string, unknown>
  if (owned) out = raw
  else {
    out = {}
    for (const key in raw) out[key] = raw[key]
  }
  for (const f of AT_TIMES) out[f] = Number(raw[f])
  for (const f of AT_OPTIONAL_TIMES) if (raw[f] !== undefined) out[f] = Number(raw[f])
  out.secret = Redacted.make(raw.secret)
  if (pool !== undefined) share(pool, out)
  return out as unknown as Entries["AccessToken"]
}

/**
 * One entry of the unified schema, tolerant of what other MSALs write. With `owned`, `raw`
 * may be changed in place (see `fastAccessToken`). @internal
 */
export const decodeEntry = <S extends Section>(
  section: S,
  raw: unknown,
  owned = false,
  pool?: Pool
): Either.Either<Entries[S], unknown> => {
  const normal = normalize(section, raw)
  if (section === "AccessToken" && Predicate.isRecord(normal)) {
    const fast = fastAccessToken(normal, owned || normal !== raw, pool)
    if (fast !== undefined) return Either.right(fast as Entries[S])
  }
  return decoders[section](normal)
}

const malformed = (description: string) => new CacheError({ reason: "Malformed", description })

/**
 * Decodes already-parsed JSON. With `owned` (the JSON was parsed for this call and nobody else
 * holds it), its objects may become the entries themselves. @internal
 */
export const fromJson = (parsed: unknown, owned = false): Either.Either<Snapshot, CacheError> => {
  const entries = emptyEntries()
  if (parsed === null || parsed === undefined) return Either.right({ entries, unknown: {} })
  if (!Predicate.isRecord(parsed) || Array.isArray(parsed)) {
    return Either.left(malformed("The serialised cache is not a JSON object"))
  }
  const unknown: Record<string, unknown> = {}
  const pool: Pool = new Map()
  for (const [name, value] of Object.entries(parsed)) {
    if (!(sections as ReadonlyArray<string>).includes(name)) {
      unknown[name] = value
      continue
    }
    const section = name as Section
    if (value === null) continue
    if (!Predicate.isRecord(value) || Array.isArray(value)) {
      return Either.left(malformed(`The ${section} section is not a JSON object`))
    }
    const kept: Record<string, unknown> = {}
    let anyKept = false
    const bucket = entries[section] as Array<Entries[Section]>
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      const raw = value[key]
      const decoded = decodeEntry(section, raw, owned, pool)
      if (Either.isRight(decoded)) bucket.push(decoded.right)
      else {
        kept[key] = raw
        anyKept = true
      }
    }
    if (anyKept) unknown[section] = kept
  }
  return Either.right({ entries, unknown })
}

/** Parses a serialised cache; empty input is an empty cache. @internal */
export const parse = (json: string): Either.Either<Snapshot, CacheError> => {
  if (json.trim().length === 0) return Either.right(empty())
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return Either.left(malformed("The serialised cache is not valid JSON"))
  }
  return fromJson(parsed, true)
}

/** @internal */
export const decode = (json: string): Effect.Effect<Snapshot, CacheError> => Effect.suspend(() => parse(json))
