/**
 * Micro-measurements behind the explanations in BENCHMARKS.md: what the pieces of a cache
 * hit, of a fan-out and of a cache (de)serialisation cost in Effect, in isolation.
 * Not part of `npm run bench`. Run: node --import tsx bench/hotspots.ts
 */
import { Effect, Metric, Redacted, Schema } from "effect"
import { performance } from "node:perf_hooks"
import { CacheEntry } from "effect-msal"
import { cacheJson, generateTokens } from "./support/fixtures.js"

const perCall = (name: string, make: () => Effect.Effect<unknown>, calls = 100_000): void => {
  const micros = Effect.runSync(Effect.gen(function*() {
    for (let i = 0; i < calls / 5; i++) yield* make()
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) yield* make()
    return ((performance.now() - t0) * 1000) / calls
  }))
  process.stdout.write(`${name.padEnd(64)} ${micros.toFixed(2).padStart(8)} µs/call\n`)
}

const perBatch = (name: string, run: () => unknown, runs = 7): void => {
  const times: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    run()
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  process.stdout.write(`${name.padEnd(64)} ${times[runs >> 1]!.toFixed(1).padStart(8)} ms\n`)
}

process.stdout.write("Spans, annotations, metrics (inside one fiber)\n")
const body = function*() {
  return 1
}
perCall("Effect.fnUntraced", Effect.fnUntraced(body))
perCall("Effect.fn(name): a span per call", Effect.fn("span")(body))
perCall("Effect.annotateCurrentSpan with no current span", () => Effect.annotateCurrentSpan("k", "v"))
perCall(
  "Effect.annotateCurrentSpan inside a span",
  Effect.fn("span")(function*() {
    yield* Effect.annotateCurrentSpan("k", "v")
  })
)
const counter = Metric.counter("hotspots.counter", { description: "a counter", incremental: true })
const tagged = Metric.tagged(counter, "grant", "client_credentials")
perCall(
  "Metric.increment(Metric.tagged(counter, k, v)) built per call",
  () => Metric.increment(Metric.tagged(counter, "grant", "client_credentials"))
)
perCall("Metric.increment(tagged counter built once)", () => Metric.increment(tagged))

process.stdout.write("\nFan-out of 1,000 trivial effects (CPU per effect)\n")
for (const mode of ["Effect.all unbounded", "Promise.all of runPromise"] as const) {
  const cpu: Array<number> = []
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage()
    if (mode === "Effect.all unbounded") {
      Effect.runSync(Effect.all(Array.from({ length: 1000 }, () => Effect.succeed(1)), { concurrency: "unbounded" }))
    } else {
      await Promise.all(Array.from({ length: 1000 }, () => Effect.runPromise(Effect.succeed(1))))
    }
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
  }
  cpu.sort((a, b) => a - b)
  process.stdout.write(`${mode.padEnd(64)} ${cpu[2]!.toFixed(2).padStart(8)} µs/effect\n`)
}

process.stdout.write("\nDecoding and encoding 10,000 cached access tokens\n")
const json = cacheJson(generateTokens(10_000))
const values = Object.values((JSON.parse(json) as { AccessToken: Record<string, unknown> }).AccessToken)
perBatch("JSON.parse of the whole cache", () => JSON.parse(json))
const decodeEntry = Schema.decodeUnknownEither(CacheEntry.AccessToken)
perBatch("Schema decode of every entry (CacheEntry.AccessToken)", () => values.forEach((v) => decodeEntry(v)))
const decodeRedacted = Schema.decodeUnknownEither(Schema.Redacted(Schema.String))
const secrets = values.map((v) => (v as { secret: string }).secret)
perBatch("  of which Schema.Redacted(Schema.String), 10,000 values", () => secrets.forEach((s) => decodeRedacted(s)))
const decodeNumber = Schema.decodeUnknownEither(Schema.NumberFromString)
perBatch("  of which Schema.NumberFromString, 30,000 values", () => {
  for (const v of values) {
    const e = v as Record<string, string>
    decodeNumber(e.cached_at)
    decodeNumber(e.expires_on)
    decodeNumber(e.extended_expires_on)
  }
})
const DIGITS = /^\d{1,15}$/
perBatch("hand-written check and conversion of every entry", () =>
  values.map((v) => {
    const e = v as Record<string, unknown>
    if (typeof e.secret !== "string" || typeof e.expires_on !== "string" || !DIGITS.test(e.expires_on)) return undefined
    return { ...e, secret: Redacted.make(e.secret), expires_on: Number(e.expires_on) }
  }))
const decoded = values.map((v) => {
  const r = decodeEntry(v)
  if (r._tag === "Left") throw new Error("bad entry")
  return r.right
})
const encodeEntry = Schema.encodeSync(CacheEntry.AccessToken)
perBatch("Schema encode of every entry", () => decoded.forEach((d) => encodeEntry(d)))
perBatch("hand-written encode of every entry", () =>
  decoded.map((d) => ({
    ...d,
    secret: Redacted.value(d.secret),
    cached_at: String(d.cached_at),
    expires_on: String(d.expires_on),
    ...(d.extended_expires_on === undefined ? {} : { extended_expires_on: String(d.extended_expires_on) })
  })))
