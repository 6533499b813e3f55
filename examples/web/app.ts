/**
 * The web app with its identity provider: the test authority on 127.0.0.1 by default, Entra
 * ID when `AZURE_CLIENT_ID` is set (then `PUBLIC_URL`, whose `/callback` must be a registered
 * redirect URI, and `SESSION_SECRET`, shared by every worker).
 */
import type { HttpServerError } from "@effect/platform"
import type { Scope, Layer } from "effect"
import type { Duration } from "effect"
import { Config, ConfigError, Effect, Option, Redacted } from "effect"
import type { ConfidentialClient, MsalError } from "effect-msal"
import * as Crypto from "node:crypto"
import * as Identity from "../shared/Identity.js"
import * as Server from "../shared/Server.js"
import * as Session from "./session.js"
import type { WebSettings } from "./web.js"
import { router, Settings } from "./web.js"

/** The web app's registration with the test authority. */
export const CLIENT_ID = "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918"
const CLIENT_SECRET = "web-example-secret"

/** What the app signs users in for: their profile on Microsoft Graph. */
export const SCOPES: ReadonlyArray<string> = ["User.Read"]

/** Options of `start`. */
export interface StartOptions extends Server.ListenOptions {
  /** The session cookies' key; default `SESSION_SECRET`, else (test authority only) a random one. */
  readonly sessionSecret?: Redacted.Redacted<string> | undefined
  /** How long a signed-in session lasts from sign-in; default 8 hours (`Session.DEFAULT_LIFETIME`). */
  readonly sessionLifetime?: Duration.DurationInput | undefined
}

/** The settings: from the options and the environment. */
const settings = (options: StartOptions) =>
  Effect.gen(function*() {
    const identity = yield* Identity.Identity
    const configured = yield* Config.option(Config.redacted("SESSION_SECRET"))
    const entra = identity.mode === "entra"
    const sessionSecret = options.sessionSecret ?? Option.getOrUndefined(configured)
    if (sessionSecret === undefined && entra) {
      return yield* Effect.fail(
        ConfigError.MissingData(
          ["SESSION_SECRET"],
          "set SESSION_SECRET (32 characters or more) to sign session cookies"
        )
      )
    }
    if (sessionSecret !== undefined && Redacted.value(sessionSecret).length < 32) {
      return yield* Effect.fail(ConfigError.InvalidData(["SESSION_SECRET"], "must be 32 characters or more"))
    }
    const publicUrl = entra
      ? Option.some(
        (yield* Config.string("PUBLIC_URL").pipe(Config.withDefault(`http://localhost:${options.port}`))).replace(
          /\/+$/,
          ""
        )
      )
      : Option.none<string>()
    const logoutUrl = entra
      ? Option.some(
        yield* Effect.map(
          Config.all({
            host: Config.string("AZURE_AUTHORITY_HOST").pipe(Config.withDefault("https://login.microsoftonline.com")),
            tenant: Config.string("AZURE_TENANT_ID")
          }),
          ({ host, tenant }) => (returnTo: string) =>
            `${host.replace(/\/+$/, "")}/${encodeURIComponent(tenant)}/oauth2/v2.0/logout?post_logout_redirect_uri=${
              encodeURIComponent(returnTo)
            }`
        )
      )
      : Option.none<(returnTo: string) => string>()
    return {
      sessionSecret: sessionSecret ?? Redacted.make(Crypto.randomBytes(32).toString("base64url")),
      publicUrl,
      scopes: SCOPES,
      logoutUrl
    } satisfies WebSettings
  })

/** Starts the web app; it stops with the scope. Its URL. */
export const start = (
  options: StartOptions
): Effect.Effect<
  string,
  HttpServerError.ServeError | ConfigError.ConfigError,
  Scope.Scope | Identity.Identity | ConfidentialClient.ConfidentialClient
> =>
  Effect.gen(function*() {
    const s = yield* settings(options)
    const sessions = yield* Session.makeMemoryStore({ lifetime: options.sessionLifetime })
    return yield* Server.listen(router, options).pipe(
      Effect.provideService(Settings, s),
      Effect.provideService(Session.Sessions, sessions)
    )
  })

/** The web app's client and identity provider. */
export const identityLayer = (
  overrides?: Partial<Identity.Options>
): Layer.Layer<
  ConfidentialClient.ConfidentialClient | Identity.Identity,
  MsalError.MsalError | ConfigError.ConfigError
> =>
  Identity.layer({ appName: "effect-msal-example-web", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...overrides })
