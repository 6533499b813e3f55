import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { readFile } from "node:fs/promises"
import type * as CacheEntry from "../../CacheEntry.js"
import { CacheError } from "../../MsalError.js"
import * as TokenCache from "../../TokenCache.js"

/** @internal */
export interface Args {
  readonly file: string
  readonly json: boolean
}

/** Access tokens with less than this left are `expiring` (the client no longer serves them). */
const EXPIRING_SECONDS = 300

type Status = "valid" | "expiring" | "expired"

const statusOf = (expiresOn: number, now: number): Status =>
  expiresOn <= now ? "expired" : expiresOn - now < EXPIRING_SECONDS ? "expiring" : "valid"

const kindOf = (at: CacheEntry.AccessToken): "app" | "user" | "on-behalf-of" =>
  at.user_assertion_hash !== undefined ? "on-behalf-of" : (at.home_account_id ?? "") === "" ? "app" : "user"

/**
 * Terminal escape sequences: CSI (`ESC [` or U+009B, up to its final byte), OSC (`ESC ]` or
 * U+009D, up to BEL or `ESC \\`), and any other `ESC x`.
 */
const ESCAPES =
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b\]|\u009d)[^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]?/g

/** C0 and C1 control characters, DEL, and the bidirectional overrides and isolates. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/**
 * A value read from the file, made safe to print: escape sequences and control characters
 * removed (a cache file is data; it must not drive the terminal that shows it). @internal
 */
export const clean = (text: string): string => text.replace(ESCAPES, "").replace(CONTROLS, "")

const countBy = <A>(items: ReadonlyArray<A>, key: (a: A) => string): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const item of items) counts[clean(key(item))] = (counts[clean(key(item))] ?? 0) + 1
  return counts
}

const scopesOf = (target: string) => clean(target).split(" ").filter((s) => s.length > 0)

/**
 * What a cache holds, without any secret or personal data: no token, no account id, no user
 * name; access tokens by kind, client, tenant, scopes and expiry. @internal
 */
export const summarize = (snapshot: TokenCache.Snapshot, nowSeconds: number) => {
  const { AccessToken, Account, AppMetadata, IdToken, RefreshToken } = snapshot.entries
  const accessTokens = AccessToken.map((at) => ({
    kind: kindOf(at),
    client: clean(at.client_id),
    tenant: clean(at.realm),
    environment: clean(at.environment),
    scopes: scopesOf(at.target),
    expiresOn: new Date(at.expires_on * 1000).toISOString(),
    expiresInSeconds: at.expires_on - nowSeconds,
    status: statusOf(at.expires_on, nowSeconds)
  })).sort((a, b) =>
    a.client.localeCompare(b.client) || a.tenant.localeCompare(b.tenant) || a.expiresOn.localeCompare(b.expiresOn)
  )
  return {
    counts: {
      accessTokens: AccessToken.length,
      refreshTokens: RefreshToken.length,
      idTokens: IdToken.length,
      accounts: Account.length,
      appMetadata: AppMetadata.length
    },
    accessTokensByTenant: countBy(AccessToken, (at) => at.realm),
    accessTokensByClient: countBy(AccessToken, (at) => at.client_id),
    accessTokensByStatus: countBy(accessTokens, (at) => at.status),
    accessTokens,
    refreshTokens: RefreshToken.map((rt) => ({
      client: clean(rt.client_id),
      environment: clean(rt.environment),
      ...(rt.family_id === undefined ? {} : { family: clean(rt.family_id) }),
      ...(rt.target === undefined ? {} : { scopes: scopesOf(rt.target) })
    })),
    idTokens: IdToken.map((it) => ({
      client: clean(it.client_id),
      tenant: clean(it.realm),
      environment: clean(it.environment)
    })),
    accountsByTenant: countBy(Account, (a) => a.realm),
    appMetadata: AppMetadata.map((m) => ({
      client: clean(m.client_id),
      environment: clean(m.environment),
      ...(m.family_id === undefined || m.family_id === null ? {} : { family: clean(m.family_id) })
    })),
    unknownSections: Object.keys(snapshot.unknown).map(clean)
  }
}

type Summary = ReturnType<typeof summarize>

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

const inWords = (seconds: number): string => {
  const abs = Math.abs(seconds)
  const span = abs < 120 ? `${abs} s` : abs < 7200 ? `${Math.round(abs / 60)} min` : `${Math.round(abs / 3600)} h`
  return seconds <= 0 ? `${span} ago` : `in ${span}`
}

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")}`.trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/** The summary as text for people. @internal */
export const render = (file: string, s: Summary): string => {
  const c = s.counts
  const out = [
    `${file}: ${plural(c.accessTokens, "access token")}, ${plural(c.refreshTokens, "refresh token")}, ` +
    `${plural(c.idTokens, "ID token")}, ${plural(c.accounts, "account")}, ${
      plural(c.appMetadata, "app metadata entry", "app metadata entries")
    }`
  ]
  if (s.accessTokens.length > 0) {
    out.push("", "Access tokens")
    out.push(table(
      ["KIND", "CLIENT", "TENANT", "SCOPES", "EXPIRES", "STATUS"],
      s.accessTokens.map((at) => [
        at.kind,
        at.client,
        at.tenant,
        at.scopes.join(" "),
        `${at.expiresOn} (${inWords(at.expiresInSeconds)})`,
        at.status
      ])
    ))
  }
  if (s.refreshTokens.length > 0) {
    out.push("", "Refresh tokens")
    out.push(table(
      ["CLIENT", "ENVIRONMENT", "FAMILY", "SCOPES"],
      s.refreshTokens.map((rt) => [rt.client, rt.environment, rt.family ?? "", (rt.scopes ?? []).join(" ")])
    ))
  }
  if (s.idTokens.length > 0) {
    out.push("", "ID tokens")
    out.push(table(["CLIENT", "TENANT", "ENVIRONMENT"], s.idTokens.map((it) => [it.client, it.tenant, it.environment])))
  }
  if (c.accounts > 0) {
    out.push("", "Accounts by tenant")
    out.push(table(["TENANT", "ACCOUNTS"], Object.entries(s.accountsByTenant).map(([t, n]) => [t, String(n)])))
  }
  if (s.unknownSections.length > 0) out.push("", `Other sections (kept, not read): ${s.unknownSections.join(", ")}`)
  return out.join("\n")
}

const readText = (file: string) =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (error) =>
      new CacheError({
        reason: "Io",
        description: `cannot read ${file}${error instanceof Error && "code" in error ? ` (${String(error.code)})` : ""}`
      })
  })

/** `effect-msal cache inspect FILE`. @internal */
export const run = (args: Args) =>
  Effect.gen(function*() {
    const json = yield* readText(args.file)
    yield* TokenCache.deserialize(json)
    const snapshot = yield* Effect.flatMap(TokenCache.TokenCache, (cache) => cache.snapshot)
    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const summary = summarize(snapshot, now)
    yield* Console.log(
      args.json ? JSON.stringify({ file: args.file, ...summary }, null, 2) : render(args.file, summary)
    )
  }).pipe(Effect.provide(TokenCache.layerMemory({ maxEntries: Infinity })))
