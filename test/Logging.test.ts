/**
 * The library writes nothing to stdout or stderr by itself: its log lines go through Effect's
 * logger, and the Promise client sends them where its `logger` option says, or to stderr at
 * the level `AZURE_LOG_LEVEL` names (as the Azure SDKs do), or nowhere.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Msal from "effect-msal/promise"

const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
const AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com"
const GRAPH = "https://graph.microsoft.com/.default"
/** An invalid region name: the client logs a warning and uses the global endpoint. */
const BAD_REGION = "Not A Region!"

/** Everything written to stdout or stderr, by any route, while a test runs. */
let written: Array<string>
let saved: NodeJS.ProcessEnv
beforeEach(() => {
  written = []
  saved = { ...process.env }
  delete process.env.AZURE_LOG_LEVEL
  const record = (...args: ReadonlyArray<unknown>) => {
    written.push(args.map(String).join(" "))
  }
  for (const name of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    vi.spyOn(console, name).mockImplementation(record)
  }
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
      record(String(chunk))
      return true
    })
  }
})
afterEach(() => {
  vi.restoreAllMocks()
  process.env = saved
})

const fakeAuthority = () => {
  const authority = Effect.runSync(TestAuthority.make())
  const httpClient = TestAuthority.layerHttpClient.pipe(
    Layer.provide(Layer.succeed(TestAuthority.TestAuthority, authority))
  )
  return { authority, httpClient, run: <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect) }
}

/** A client whose first token request logs a warning (the invalid region). */
const withWarning = async (options: Partial<Msal.Options>) => {
  const { httpClient } = fakeAuthority()
  const client = await Msal.make({
    clientId: CLIENT_ID,
    authority: AUTHORITY,
    credential: ClientCredential.secret("s3cret"),
    azureRegion: BAD_REGION,
    retry: false,
    httpClient,
    ...options
  })
  try {
    await client.acquireTokenForClient({ scopes: [GRAPH] })
  } finally {
    await client.dispose()
  }
}

describe("the Promise client's logs", () => {
  it("go nowhere by default: nothing on stdout or stderr", async () => {
    await withWarning({})
    expect(written).toEqual([])
  })

  it("a failed background refresh writes nothing either (fromLayer takes the logger option too)", async () => {
    const { authority, run } = fakeAuthority()
    await run(authority.configure({ refreshIn: 60 }))
    // a clock the test moves: past refresh_in, the cached token is served and refreshed in the background
    let offset = 0
    const real = Clock.make()
    const clock: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => real.unsafeCurrentTimeMillis() + offset,
      unsafeCurrentTimeNanos: () => real.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n,
      currentTimeMillis: Effect.sync(() => real.unsafeCurrentTimeMillis() + offset),
      currentTimeNanos: Effect.sync(() => real.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n),
      sleep: (duration) => real.sleep(duration)
    }
    const lines: Array<string> = []
    const background = () => lines.filter((line) => line.includes("background token refresh failed"))
    for (const logger of [undefined, { callback: (_: Msal.LogLevel, line: string) => lines.push(line) }]) {
      offset = 0
      const client = await Msal.fromLayer(
        ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, retry: false }).pipe(
          Layer.provide(CredentialSigner.layer(ClientCredential.secret("s3cret"))),
          Layer.provide(TokenCache.layerMemory()),
          Layer.provide(TestAuthority.layerHttpClient),
          Layer.provide(Layer.succeed(TestAuthority.TestAuthority, authority)),
          Layer.provide(Layer.setClock(clock))
        ),
        { logger }
      )
      try {
        const before = (await run(authority.tokenRequests)).length
        await client.acquireTokenForClient({ scopes: [GRAPH] })
        await run(authority.enqueue({ status: 400, body: { error: "invalid_grant" } }))
        offset = 120_000
        expect((await client.acquireTokenForClient({ scopes: [GRAPH] })).tokenSource).toBe("cache")
        // the refresh was sent and answered; wait (bounded) for the failure to be handled
        const deadline = Date.now() + 5000
        const done = async () =>
          (await run(authority.tokenRequests)).length >= before + 2 && (logger === undefined || background().length > 0)
        while (!(await done()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
        expect((await run(authority.tokenRequests)).length).toBe(before + 2)
      } finally {
        await client.dispose()
      }
    }
    expect(written).toEqual([])
    expect(background()).toHaveLength(1)
    expect(background()[0]).toContain("msal.error=ServerError")
  })

  it("logger.callback receives the lines at or above its level, with the level", async () => {
    const lines: Array<[Msal.LogLevel, string]> = []
    await withWarning({ logger: { level: "warning", callback: (level, message) => lines.push([level, message]) } })
    expect(lines).toHaveLength(1)
    expect(lines[0]![0]).toBe("warning")
    expect(lines[0]![1]).toContain("ignoring the invalid region")
    expect(written).toEqual([])

    const errorsOnly: Array<string> = []
    await withWarning({ logger: { level: "error", callback: (_, message) => errorsOnly.push(message) } })
    expect(errorsOnly).toEqual([])
  })

  it("a throwing callback does not fail the call", async () => {
    await expect(withWarning({
      logger: {
        callback: () => {
          throw new Error("boom")
        }
      }
    })).resolves.toBeUndefined()
  })

  it("logger without a callback writes to stderr, never stdout", async () => {
    const stdout = vi.mocked(process.stdout.write)
    await withWarning({ logger: { level: "info" } })
    expect(stdout).not.toHaveBeenCalled()
    expect(written).toHaveLength(1)
    expect(written[0]).toMatch(/^effect-msal:warning effect-msal: ignoring the invalid region/)
  })

  it("AZURE_LOG_LEVEL turns on stderr output at that level, as in the Azure SDKs", async () => {
    process.env.AZURE_LOG_LEVEL = "warning"
    await withWarning({})
    expect(written).toHaveLength(1)
    expect(written[0]).toContain("effect-msal:warning")
    written.length = 0
    process.env.AZURE_LOG_LEVEL = "error"
    await withWarning({})
    expect(written).toEqual([])
    process.env.AZURE_LOG_LEVEL = "chatty"
    await withWarning({})
    expect(written).toEqual([])
  })

  /** Signs a user in through a client with these logger options; the lines it logged. */
  const signIn = async (logger: Omit<Msal.LoggerOptions, "callback">) => {
    const lines: Array<[Msal.LogLevel, string]> = []
    const { authority, httpClient, run } = fakeAuthority()
    const client = await Msal.make({
      clientId: CLIENT_ID,
      authority: AUTHORITY,
      credential: ClientCredential.secret("s3cret"),
      httpClient,
      logger: { ...logger, callback: (level, message) => lines.push([level, message]) }
    })
    try {
      const flow = await client.initiateAuthCodeFlow({
        scopes: ["User.Read"],
        redirectUri: "https://app.contoso.test/cb"
      })
      const redirect = await run(authority.authorize(flow.authUri))
      const result = await client.acquireTokenByAuthCodeFlow({ flow, response: new URL(redirect).searchParams })
      return { lines, username: result.account!.username }
    } finally {
      await client.dispose()
    }
  }

  it("AZURE_LOG_LEVEL=verbose passes debug lines; it sets the callback's level when the option has none", async () => {
    expect((await signIn({})).lines).toEqual([])
    process.env.AZURE_LOG_LEVEL = "verbose"
    const { lines, username } = await signIn({})
    const stored = lines.find(([, message]) => message.includes("tokens stored for an account"))
    expect(stored?.[0]).toBe("verbose")
    expect(stored?.[1]).not.toContain(username)
    expect(written).toEqual([])
  })

  it("piiLoggingEnabled lets personal data into the lines (the client's enablePiiLog)", async () => {
    const { lines, username } = await signIn({ level: "verbose", piiLoggingEnabled: true })
    const stored = lines.find(([, message]) => message.includes("tokens stored for an account"))
    expect(stored?.[1]).toContain(`msal.username=${username}`)
  })

  it("a malformed logger option is an InvalidRequest", async () => {
    await expect(withWarning({ logger: { level: "loud" as Msal.LogLevel } })).rejects.toMatchObject({
      _tag: "InvalidRequest",
      field: "logger.level"
    })
    await expect(withWarning({ logger: { callback: "stderr" as unknown as () => void } })).rejects.toMatchObject({
      _tag: "InvalidRequest",
      field: "logger.callback"
    })
  })
})
