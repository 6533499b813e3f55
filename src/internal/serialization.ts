import { Effect, Either, Predicate, Schema } from "effect"
import type { Entries, Section } from "../CacheEntry.js"
import { schemas, sections } from "../CacheEntry.js"
import { CacheError } from "../MsalError.js"
import type { Snapshot } from "../TokenCache.js"

type Encoded = Record<string, unknown>

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
    case "RefreshToken":
      return [home, env, "refreshtoken", str(e.client_id), "", str(e.target)].join("-").toLowerCase()
    case "IdToken":
      return [home, env, "idtoken", str(e.client_id), str(e.realm), ""].join("-").toLowerCase()
    case "Account":
      return [home, env, str(e.realm)].join("-").toLowerCase()
    case "AppMetadata":
      return `appmetadata-${env}-${str(e.client_id)}`
  }
}

const encodeEntry = <S extends Section>(section: S, entry: Entries[S]): Encoded =>
  Schema.encodeSync(schemas[section] as unknown as Schema.Schema<Entries[S], Encoded>)(entry)

/** @internal */
export const encode = (snapshot: Snapshot): string => {
  const out: Record<string, unknown> = {}
  for (const section of sections) {
    const bucket: Record<string, unknown> = {}
    const raw = snapshot.unknown[section]
    if (Predicate.isRecord(raw)) Object.assign(bucket, raw)
    for (const entry of snapshot.entries[section] as ReadonlyArray<Entries[Section]>) {
      const encoded = encodeEntry(section, entry)
      bucket[wireKey(section, encoded)] = encoded
    }
    if (Object.keys(bucket).length > 0) out[section] = bucket
  }
  for (const [k, v] of Object.entries(snapshot.unknown)) if (!(sections as ReadonlyArray<string>).includes(k)) out[k] = v
  return JSON.stringify(out, null, 4)
}

const emptyEntries = (): { [S in Section]: Array<Entries[S]> } => ({
  AccessToken: [],
  RefreshToken: [],
  IdToken: [],
  Account: [],
  AppMetadata: []
})

/** @internal */
export const decode = (json: string): Effect.Effect<Snapshot, CacheError> =>
  Effect.suspend(() => {
    const entries = emptyEntries()
    if (json.trim().length === 0) return Effect.succeed({ entries, unknown: {} })
    let parsed: unknown
    try {
      parsed = JSON.parse(json)
    } catch {
      return Effect.fail(new CacheError({ reason: "Malformed", description: "The serialised cache is not valid JSON" }))
    }
    if (parsed === null) return Effect.succeed({ entries, unknown: {} })
    if (!Predicate.isRecord(parsed) || Array.isArray(parsed)) {
      return Effect.fail(new CacheError({ reason: "Malformed", description: "The serialised cache is not a JSON object" }))
    }
    const unknown: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(parsed)) {
      if (!(sections as ReadonlyArray<string>).includes(name)) {
        unknown[name] = value
        continue
      }
      const section = name as Section
      if (!Predicate.isRecord(value)) {
        return Effect.fail(
          new CacheError({ reason: "Malformed", description: `The ${section} section is not a JSON object` })
        )
      }
      const kept: Record<string, unknown> = {}
      const decodeEntry = Schema.decodeUnknownEither(schemas[section] as unknown as Schema.Schema<Entries[Section], Encoded>)
      for (const [key, raw] of Object.entries(value)) {
        const decoded = decodeEntry(raw)
        if (Either.isRight(decoded)) (entries[section] as Array<Entries[Section]>).push(decoded.right)
        else kept[key] = raw
      }
      if (Object.keys(kept).length > 0) unknown[section] = kept
    }
    return Effect.succeed({ entries, unknown })
  })
