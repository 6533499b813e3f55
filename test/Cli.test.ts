import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Console, Effect, Fiber } from "effect"
import type { Exit } from "effect"
import { TokenCache } from "effect-msal"
import { spawn } from "node:child_process"
import { Console as NodeConsole } from "node:console"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as Net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Writable } from "node:stream"
import * as Inspect from "../src/internal/cli/inspect.js"
import * as Cli from "../src/internal/cli/main.js"
import { bundle } from "./support/bundle.js"
import { postClientCredentials } from "./support/harness.js"

const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
const SECRET = "cli-s3cret-do-not-print"
const GRAPH = "https://graph.microsoft.com/.default"
const TIMEOUT = 60_000

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** What the CLI printed so far, and a wait for a line to appear on stdout. */
interface Captured {
  readonly console: Console.Console
  readonly stdout: () => string
  readonly stderr: () => string
  readonly untilStdout: (pattern: RegExp, timeoutMillis: number) => Promise<RegExpExecArray>
}

/** An Effect `Console` over a Node console that writes into strings (no colours). */
const capture = (): Captured => {
  let stdout = ""
  let stderr = ""
  const waiters = new Set<() => void>()
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString())
        for (const wake of waiters) wake()
        done()
      }
    })
  const c = new NodeConsole({
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    colorMode: false
  })
  const console: Console.Console = {
    [Console.TypeId]: Console.TypeId,
    assert: (condition, ...args) => Effect.sync(() => c.assert(condition, ...args)),
    clear: Effect.sync(() => c.clear()),
    count: (label) => Effect.sync(() => c.count(label)),
    countReset: (label) => Effect.sync(() => c.countReset(label)),
    debug: (...args) => Effect.sync(() => c.debug(...args)),
    dir: (item, options) => Effect.sync(() => c.dir(item, options)),
    dirxml: (...args) => Effect.sync(() => c.dirxml(...args)),
    error: (...args) => Effect.sync(() => c.error(...args)),
    group: (options) =>
      Effect.sync(() => (options?.collapsed ? c.groupCollapsed(options.label) : c.group(options?.label))),
    groupEnd: Effect.sync(() => c.groupEnd()),
    info: (...args) => Effect.sync(() => c.info(...args)),
    log: (...args) => Effect.sync(() => c.log(...args)),
    table: (data, properties) => Effect.sync(() => c.table(data, properties)),
    time: (label) => Effect.sync(() => c.time(label)),
    timeEnd: (label) => Effect.sync(() => c.timeEnd(label)),
    timeLog: (label, ...args) => Effect.sync(() => c.timeLog(label, ...args)),
    trace: (...args) => Effect.sync(() => c.trace(...args)),
    warn: (...args) => Effect.sync(() => c.warn(...args)),
    unsafe: c
  }
  const untilStdout = (pattern: RegExp, timeoutMillis: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stdout)
        if (match === null) return
        waiters.delete(check)
        clearTimeout(timer)
        resolve(match)
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`${String(pattern)} not printed within ${timeoutMillis} ms: ${stdout} ${stderr}`))
      }, timeoutMillis)
      waiters.add(check)
      check()
    })
  return { console, stdout: () => stdout, stderr: () => stderr, untilStdout }
}

/**
 * The CLI's `main` in this process, as the bin runs it: these arguments, these environment
 * variables only (nothing leaks in from the machine running the tests), output captured.
 */
const start = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) => {
  const out = capture()
  const fiber = Cli.main(["node", "effect-msal", ...args]).pipe(
    Effect.withConsole(out.console),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.runFork
  )
  return { out, fiber }
}

const cli = async (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}): Promise<Run> => {
  const { fiber, out } = start(args, env)
  const code = await Effect.runPromise(Fiber.join(fiber))
  return { code, stdout: out.stdout(), stderr: out.stderr() }
}

/** Failures are one line on stderr, never a stack trace. */
const expectOneLine = (run: Run) => {
  const lines = run.stderr.split("\n").filter((l) => l.trim().length > 0)
  expect(lines).toHaveLength(1)
  expect(run.stderr).not.toMatch(/^\s+at /m)
  return lines[0]!
}

/** Runs `authority serve` in this process; resolves once it printed its URL. */
const startServer = async (args: ReadonlyArray<string> = []) => {
  const { fiber, out } = start(["authority", "serve", ...args])
  const match = await out.untilStdout(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 30_000)
  return { url: match[1]!, stop: (): Promise<Exit.Exit<number>> => Effect.runPromise(Fiber.interrupt(fiber)) }
}

/** A client-credentials token request to a served authority, as any HTTP client sends it. */
const requestToken = (url: string) =>
  postClientCredentials(url, { tenant: "contoso", clientId: CLIENT_ID, secret: SECRET })

describe("effect-msal (usage)", () => {
  it("--help lists the commands and exits 0", async () => {
    const run = await cli(["--help"])
    expect(run.code).toBe(0)
    for (const command of ["demo", "token --scope", "authority serve", "cache inspect"])
      expect(run.stdout).toContain(command)
  }, TIMEOUT)

  it("no command, or a missing required flag, is a usage error (exit 2)", async () => {
    const none = await cli([])
    expect(none.code).toBe(2)
    expect(expectOneLine(none)).toContain("choose a command")
    const noScope = await cli(["token"])
    expect(noScope.code).toBe(2)
    expect(expectOneLine(noScope)).toContain("--scope")
  }, TIMEOUT)

  it("token without configuration: one line naming the variables, exit 1", async () => {
    const run = await cli(["token", "--scope", GRAPH])
    expect(run.code).toBe(1)
    expect(expectOneLine(run)).toBe(
      "effect-msal: configuration: AZURE_CLIENT_ID is not set; AZURE_TENANT_ID is not set"
    )
  }, TIMEOUT)

  it("output is plain text when not a terminal or under NO_COLOR: no ANSI sequences in help or errors", async () => {
    for (const env of [{}, { NO_COLOR: "1" }]) {
      const help = await cli(["--help"], env)
      expect(help.stdout).toContain("USAGE")
      expect(help.stdout + help.stderr).not.toContain("\u001b[")
      const usage = await cli(["token"], env)
      expect(usage.code).toBe(2)
      expect(usage.stdout + usage.stderr).not.toContain("\u001b[")
    }
  }, TIMEOUT)

  it("the authority override accepts loopback URLs only", async () => {
    const run = await cli(["token", "--scope", GRAPH], {
      AZURE_CLIENT_ID: CLIENT_ID,
      AZURE_TENANT_ID: "contoso",
      AZURE_CLIENT_SECRET: SECRET,
      EFFECT_MSAL_AUTHORITY_URL_OVERRIDE: "https://evil.example.com"
    })
    expect(run.code).toBe(1)
    expect(expectOneLine(run)).toContain("EFFECT_MSAL_AUTHORITY_URL_OVERRIDE")
  }, TIMEOUT)
})

describe("effect-msal demo (npm start)", () => {
  it("npm start runs effect-msal demo", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }
    expect(pkg.scripts.start).toBe("tsx src/bin/effect-msal.ts demo")
  })

  it("walks through the grants against the embedded authority and exits 0", async () => {
    const run = await cli(["demo"])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("from the network")
    expect(run.stdout).toContain("from the cache")
    expect(run.stdout).toContain("100 callers got 1 token from 1 request")
    expect(run.stdout).toContain("ServerError invalid_scope")
    expect(run.stdout).toContain("same user token again        from the cache")
    expect(run.stdout).toContain("silent, next page            from the cache")
    expect(run.stdout).toContain("TokenNotFound")
    expect(run.stdout).toMatch(/signed (PS256|RS256) with x5t/)
    expect(run.stdout).toContain("managed identity (Imds)")
    expect(run.stdout).toMatch(/secretless app token +from the network/)
    expect(run.stdout).toContain("(1 managed identity request for both)")
    expect(run.stdout).not.toContain("demo-secret")
    expect(run.stdout).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/) // no JWT, ever
  }, TIMEOUT)
})

describe("effect-msal token against effect-msal authority serve", () => {
  let server: Awaited<ReturnType<typeof startServer>>
  let dir = ""
  const env = () => ({
    AZURE_CLIENT_ID: CLIENT_ID,
    AZURE_TENANT_ID: "contoso.onmicrosoft.com",
    AZURE_CLIENT_SECRET: SECRET,
    EFFECT_MSAL_AUTHORITY_URL_OVERRIDE: server.url
  })

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "effect-msal-cli-"))
    server = await startServer(["--refresh-in", "1800"])
  }, TIMEOUT)
  afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("prints a JSON summary without the token; a cache file serves the second run", async () => {
    const cacheFile = join(dir, "cache.json")
    const first = await cli(["token", "--scope", GRAPH, "--cache-file", cacheFile], env())
    expect(first.code).toBe(0)
    const summary = JSON.parse(first.stdout)
    expect(summary).toMatchObject({
      tokenType: "Bearer",
      source: "identity_provider",
      scopes: [GRAPH],
      tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      expiresOn: expect.any(String),
      refreshOn: expect.any(String)
    })
    expect(summary.accessToken).toBeUndefined()
    expect(summary.expiresInSeconds).toBeGreaterThan(3000)
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600)

    const token = JSON.parse(readFileSync(cacheFile, "utf8")).AccessToken
    const secret: string = Object.values(token as Record<string, { secret: string }>)[0]!.secret
    expect(first.stdout + first.stderr).not.toContain(secret)
    expect(first.stdout + first.stderr).not.toContain(SECRET)

    const second = await cli(["token", "--scope", GRAPH, "--cache-file", cacheFile, "--show-token"], env())
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout)).toMatchObject({ source: "cache", accessToken: secret })
    expect(second.stdout + second.stderr).not.toContain(SECRET)
  }, TIMEOUT)

  it(
    "--managed-identity: a token from the served authority's App Service endpoint, the header never printed",
    async () => {
      const run = await cli(["token", "--managed-identity", "--scope", "https://management.azure.com/.default"], {
        IDENTITY_ENDPOINT: `${server.url}/msi/token`,
        IDENTITY_HEADER: "test-identity-header"
      })
      expect(run.code).toBe(0)
      expect(JSON.parse(run.stdout)).toMatchObject({
        tokenType: "Bearer",
        source: "identity_provider",
        scopes: ["https://management.azure.com"],
        managedIdentitySource: "AppService"
      })
      expect(run.stdout + run.stderr).not.toContain("test-identity-header")
      const two = await cli(["token", "--managed-identity", "--scope", "a", "--scope", "b"], {
        IDENTITY_ENDPOINT: `${server.url}/msi/token`,
        IDENTITY_HEADER: "h"
      })
      expect(two.code).toBe(1)
      expect(two.stderr).toContain("give one --scope")
    },
    TIMEOUT
  )

  // Any command shows the library's debug lines: a managed-identity token (milliseconds) logs one,
  // where the walk-through (`demo`, seconds) was run once per level before.
  it("--log-level debug prints the library's debug lines on stderr (logfmt), never on stdout", async () => {
    const args = ["token", "--managed-identity", "--scope", "https://management.azure.com/.default"]
    const env = { IDENTITY_ENDPOINT: `${server.url}/msi/token`, IDENTITY_HEADER: "test-identity-header" }
    const quiet = await cli(args, env)
    expect(quiet.code).toBe(0)
    expect(quiet.stdout + quiet.stderr).not.toContain("managed identity source detected")
    const debug = await cli(["--log-level", "debug", ...args], env)
    expect(debug.code).toBe(0)
    expect(debug.stderr).toMatch(/level=DEBUG .*message="effect-msal: managed identity source detected"/)
    expect(debug.stdout).not.toContain("level=")
    expect(JSON.parse(debug.stdout).source).toBe("identity_provider")
    expect(debug.stdout + debug.stderr).not.toContain("test-identity-header")
    // AZURE_LOG_LEVEL=verbose does the same, as in the Azure SDKs
    const verbose = await cli(args, { ...env, AZURE_LOG_LEVEL: "verbose" })
    expect(verbose.code).toBe(0)
    expect(verbose.stderr).toMatch(/level=DEBUG .*message="effect-msal: managed identity source detected"/)
    expect(verbose.stdout).not.toContain("level=")
  }, TIMEOUT)

  it("--tenant acquires in another tenant", async () => {
    const run = await cli(["token", "--scope", GRAPH, "--tenant", "fabrikam.onmicrosoft.com"], env())
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).tenantId).toBe("cabbed0e-6c9b-415f-8188-499c22a8e53e")
  }, TIMEOUT)

  it(
    "several credentials: the secret wins (as @azure/identity's EnvironmentCredential) with a warning on stderr",
    async () => {
      const run = await cli(["token", "--scope", GRAPH], { ...env(), AZURE_FEDERATED_TOKEN_FILE: "/var/run/token" })
      expect(run.code).toBe(0)
      expect(JSON.parse(run.stdout).source).toBe("identity_provider")
      expect(run.stderr).toMatch(
        /level=WARN .*several client credentials are set: using AZURE_CLIENT_SECRET, ignoring AZURE_FEDERATED_TOKEN_FILE/
      )
      expect(run.stdout + run.stderr).not.toContain(SECRET)
    },
    TIMEOUT
  )

  it("the authority's error is one line with its code, exit 1", async () => {
    const run = await cli(["token", "--scope", "User.Read"], env())
    expect(run.code).toBe(1)
    // stderr also carries the one-line note that the override is in use
    const lines = run.stderr.split("\n").filter((l) => l.length > 0 && !l.includes("testing only"))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^effect-msal: ServerError: invalid_scope \(HTTP 400\)/)
    // what support asks for: the correlation and trace ids
    expect(lines[0]).toMatch(/ \(correlation id [0-9a-f-]{36}, trace id [0-9a-f-]{36}\)$/)
    expect(run.stderr).not.toMatch(/^\s+at /m)
  }, TIMEOUT)

  it("cache inspect summarises the cache without any secret", async () => {
    const cacheFile = join(dir, "inspect.json")
    expect((await cli(["token", "--scope", GRAPH, "--cache-file", cacheFile], env())).code).toBe(0)
    expect((await cli(["token", "--scope", "https://vault.azure.net/.default", "--cache-file", cacheFile], env())).code)
      .toBe(0)
    const secrets = Object.values(
      JSON.parse(readFileSync(cacheFile, "utf8")).AccessToken as Record<string, { secret: string }>
    )
      .map((t) => t.secret)
    expect(secrets).toHaveLength(2)

    const text = await cli(["cache", "inspect", cacheFile])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain("2 access tokens, 0 refresh tokens, 0 ID tokens, 0 accounts, 1 app metadata entry")
    expect(text.stdout).toContain(CLIENT_ID)
    expect(text.stdout).toContain("72f988bf-86f1-41af-91ab-2d7cd011db47")
    expect(text.stdout).toContain("https://vault.azure.net/.default")

    const json = await cli(["cache", "inspect", "--json", cacheFile])
    expect(json.code).toBe(0)
    const summary = JSON.parse(json.stdout)
    expect(summary.counts).toEqual({ accessTokens: 2, refreshTokens: 0, idTokens: 0, accounts: 0, appMetadata: 1 })
    expect(summary.accessTokensByTenant).toEqual({ "72f988bf-86f1-41af-91ab-2d7cd011db47": 2 })
    expect(summary.accessTokensByStatus).toEqual({ valid: 2 })
    for (const secret of secrets) expect(text.stdout + json.stdout).not.toContain(secret)
  }, TIMEOUT)

  it("cache inspect: a missing or malformed file is one line, exit 1", async () => {
    const missing = await cli(["cache", "inspect", join(dir, "nope.json")])
    expect(missing.code).toBe(1)
    expect(expectOneLine(missing)).toMatch(/^effect-msal: CacheError: Io: cannot read .*nope\.json \(ENOENT\)$/)
    const bad = join(dir, "bad.json")
    writeFileSync(bad, "{\"AccessToken\": [1, 2")
    const malformed = await cli(["cache", "inspect", bad])
    expect(malformed.code).toBe(1)
    expect(expectOneLine(malformed)).toMatch(/^effect-msal: CacheError: Malformed/)
  }, TIMEOUT)
})

describe("effect-msal authority serve", () => {
  // The one test that spawns the bin: the entry point, runMain's signal handling and exit code.
  // src/bin/effect-msal.ts runs bundled by esbuild (the transform tsx applies, done once) under
  // `node` alone: the process starts in well under a second instead of compiling its imports.
  it("the bin serves until SIGINT, then exits 0", async () => {
    const bin = await bundle("src/bin/effect-msal.ts")
    const child = spawn(process.execPath, [bin, "authority", "serve"], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" }
    })
    let stdout = ""
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number>((done) => child.on("exit", (code) => done(code ?? -1)))
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL from authority serve: ${stdout} ${stderr}`)), 30_000)
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString()
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)
          if (match !== null) {
            clearTimeout(timer)
            resolve(match[1]!)
          }
        })
        void exited.then(() => reject(new Error(`authority serve exited: ${stdout} ${stderr}`)))
      })
      const response = await requestToken(url)
      expect(response.status).toBe(200)
      child.kill("SIGINT")
      expect(await exited).toBe(0)
      expect(stderr).toBe("")
    } finally {
      child.kill("SIGKILL")
    }
  }, 120_000)

  it("runs in process until interrupted", async () => {
    const server = await startServer()
    const response = await requestToken(server.url)
    expect(response.status).toBe(200)
    await server.stop()
    await expect(fetch(`${server.url}/contoso/oauth2/v2.0/token`, { method: "POST" })).rejects.toThrow()
  }, TIMEOUT)

  it("a port in use is one line, exit 1", async () => {
    const blocker = Net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve))
    try {
      const port = (blocker.address() as Net.AddressInfo).port
      const run = await cli(["authority", "serve", "--port", String(port)])
      expect(run.code).toBe(1)
      expect(expectOneLine(run)).toContain("EADDRINUSE")
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()))
    }
  }, TIMEOUT)

  it("rejects a port out of range as a usage error", async () => {
    const run = await cli(["authority", "serve", "--port", "70000"])
    expect(run.code).toBe(2)
    expect(expectOneLine(run)).toBe("effect-msal: --port must be between 0 and 65535")
  }, TIMEOUT)
})

describe("cache inspect's summary (in process)", () => {
  const NOW = 1_800_000_000
  const entry = (fields: Record<string, unknown>) => ({
    environment: "login.microsoftonline.com",
    client_id: CLIENT_ID,
    ...fields
  })
  const cache = {
    AccessToken: {
      app: entry({
        credential_type: "AccessToken",
        secret: "AT-APP-SECRET",
        home_account_id: "",
        realm: "contoso",
        target: GRAPH,
        cached_at: String(NOW - 100),
        expires_on: String(NOW + 3000)
      }),
      user: entry({
        credential_type: "AccessToken",
        secret: "AT-USER-SECRET",
        home_account_id: "uid-123.utid-456",
        realm: "contoso",
        target: "User.Read openid",
        cached_at: String(NOW - 100),
        expires_on: String(NOW + 120)
      }),
      obo: entry({
        credential_type: "AccessToken",
        secret: "AT-OBO-SECRET",
        home_account_id: "uid-123.utid-456",
        realm: "fabrikam",
        target: "Files.Read",
        cached_at: String(NOW - 4000),
        expires_on: String(NOW - 10),
        user_assertion_hash: "hash-of-assertion"
      })
    },
    RefreshToken: {
      rt: entry({
        credential_type: "RefreshToken",
        secret: "RT-SECRET",
        home_account_id: "uid-123.utid-456",
        family_id: "1",
        target: "User.Read"
      })
    },
    IdToken: {
      id: entry({
        credential_type: "IdToken",
        secret: "ID-TOKEN-SECRET",
        home_account_id: "uid-123.utid-456",
        realm: "contoso"
      })
    },
    Account: {
      acct: {
        home_account_id: "uid-123.utid-456",
        environment: "login.microsoftonline.com",
        realm: "contoso",
        local_account_id: "uid-123",
        username: "alice@contoso.com",
        authority_type: "MSSTS"
      }
    },
    AppMetadata: { meta: { client_id: CLIENT_ID, environment: "login.microsoftonline.com", family_id: "1" } }
  }

  it.effect("kinds, statuses and counts; no token, account id or user name", () =>
    Effect.gen(function*() {
      yield* TokenCache.deserialize(JSON.stringify(cache))
      const snapshot = yield* Effect.flatMap(TokenCache.TokenCache, (c) => c.snapshot)
      const summary = Inspect.summarize(snapshot, NOW)
      expect(summary.counts).toEqual({ accessTokens: 3, refreshTokens: 1, idTokens: 1, accounts: 1, appMetadata: 1 })
      // by client, tenant, then expiry
      expect(summary.accessTokens.map((t) => [t.kind, t.tenant, t.status])).toEqual([
        ["user", "contoso", "expiring"],
        ["app", "contoso", "valid"],
        ["on-behalf-of", "fabrikam", "expired"]
      ])
      expect(summary.accessTokensByTenant).toEqual({ contoso: 2, fabrikam: 1 })
      expect(summary.accountsByTenant).toEqual({ contoso: 1 })
      expect(summary.refreshTokens).toEqual([{
        client: CLIENT_ID,
        environment: "login.microsoftonline.com",
        family: "1",
        scopes: ["User.Read"]
      }])
      const printed = Inspect.render("cache.json", summary) + JSON.stringify(summary)
      expect(printed).toContain("3 access tokens, 1 refresh token, 1 ID token, 1 account, 1 app metadata entry")
      for (const hidden of ["SECRET", "uid-123", "utid-456", "alice", "hash-of-assertion"])
        expect(printed).not.toContain(hidden)
    }).pipe(Effect.provide(TokenCache.layerMemory())))
})

describe("colours", () => {
  it("colorEnabled: NO_COLOR (non-empty) wins, FORCE_COLOR forces, else only on a terminal", async () => {
    const { colorEnabled } = await import("../src/internal/cli/output.js")
    const { Option } = await import("effect")
    const none = Option.none<string>()
    expect(colorEnabled({ noColor: none, forceColor: none, isTTY: true })).toBe(true)
    expect(colorEnabled({ noColor: none, forceColor: none, isTTY: false })).toBe(false)
    expect(colorEnabled({ noColor: Option.some("1"), forceColor: none, isTTY: true })).toBe(false)
    expect(colorEnabled({ noColor: Option.some(""), forceColor: none, isTTY: true })).toBe(true)
    expect(colorEnabled({ noColor: Option.some("1"), forceColor: Option.some("1"), isTTY: true })).toBe(false)
    expect(colorEnabled({ noColor: none, forceColor: Option.some("1"), isTTY: false })).toBe(true)
    expect(colorEnabled({ noColor: none, forceColor: Option.some("0"), isTTY: false })).toBe(false)
  })
})
