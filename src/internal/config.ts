import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as ClientCredential from "../ClientCredential.js"
import type { ConfigOptions, Options } from "../ConfidentialClient.js"
import * as Region from "./region.js"

/** The environment variables `layerConfig` reads. @internal */
export const Variables = {
  clientId: "AZURE_CLIENT_ID",
  tenantId: "AZURE_TENANT_ID",
  authorityHost: "AZURE_AUTHORITY_HOST",
  clientSecret: "AZURE_CLIENT_SECRET",
  certificatePath: "AZURE_CLIENT_CERTIFICATE_PATH",
  certificatePassword: "AZURE_CLIENT_CERTIFICATE_PASSWORD",
  sendCertificateChain: "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
  federatedTokenFile: "AZURE_FEDERATED_TOKEN_FILE",
  forceRegion: "MSAL_FORCE_REGION",
  regionalAuthorityName: "AZURE_REGIONAL_AUTHORITY_NAME"
} as const

/**
 * `AZURE_REGIONAL_AUTHORITY_NAME`'s value asking for region discovery (@azure/identity's
 * `RegionalAuthority.AutoDiscoverRegion`, sdk/identity/identity/src/regionalAuthority.ts).
 * @internal
 */
export const AUTO_DISCOVER_REGION = "AutoDiscoverRegion"

/** @internal */
export const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"

/** What the environment configures: the client's options and its credential. @internal */
export interface Settings {
  readonly options: Options
  readonly credential: ClientCredential.ClientCredential
  /** Set when credential variables lost to one that takes precedence: names them, never their values. */
  readonly warning?: string | undefined
}

/** A variable that is absent or blank is unset (as Azure tooling treats it). */
const optionalText = (name: string): Config.Config<Option.Option<string>> =>
  Config.string(name).pipe(Config.option, Config.map(Option.filter((s) => s.trim().length > 0)))

const optionalSecret = (name: string): Config.Config<Option.Option<Redacted.Redacted<string>>> =>
  Config.redacted(name).pipe(Config.option, Config.map(Option.filter((s) => Redacted.value(s).length > 0)))

const Raw = Config.all({
  clientId: Config.string(Variables.clientId),
  tenantId: Config.string(Variables.tenantId),
  authorityHost: optionalText(Variables.authorityHost),
  clientSecret: optionalSecret(Variables.clientSecret),
  certificatePath: optionalText(Variables.certificatePath),
  certificatePassword: optionalSecret(Variables.certificatePassword),
  sendCertificateChain: optionalText(Variables.sendCertificateChain),
  federatedTokenFile: optionalText(Variables.federatedTokenFile),
  forceRegion: optionalText(Variables.forceRegion),
  regionalAuthorityName: optionalText(Variables.regionalAuthorityName)
})

type Raw = Config.Config.Success<typeof Raw>

const invalid = (name: string, message: string) => Either.left(ConfigError.InvalidData([name], message))

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const TRUE = new Set(["true", "1", "yes", "on"])
const FALSE = new Set(["false", "0", "no", "off"])

const authorityOf = (raw: Raw): Either.Either<string, ConfigError.ConfigError> => {
  const tenant = raw.tenantId.trim()
  if (!TENANT.test(tenant)) {
    return invalid(Variables.tenantId, "must be a tenant id or domain name (letters, digits, '.', '-', '_')")
  }
  const host = Option.getOrElse(raw.authorityHost, () => DEFAULT_AUTHORITY_HOST).trim()
  let url: URL
  try {
    url = new URL(host)
  } catch {
    return invalid(Variables.authorityHost, "must be an absolute URL such as https://login.microsoftonline.com")
  }
  if (url.protocol !== "https:" || url.search !== "" || url.hash !== "") {
    return invalid(Variables.authorityHost, "must be an https URL without query or fragment")
  }
  return Either.right(`${url.origin}${url.pathname.replace(/\/+$/, "")}/${tenant}`)
}

/**
 * The credential variables in @azure/identity's order of precedence: `EnvironmentCredential`
 * takes a client secret, else a certificate (sdk/identity/identity/src/credentials/
 * environmentCredential.ts), and `DefaultAzureCredential` tries it before workload identity
 * (`AZURE_FEDERATED_TOKEN_FILE`). The first one set wins; the others are reported as ignored.
 * @internal
 */
export const PRECEDENCE = [Variables.clientSecret, Variables.certificatePath, Variables.federatedTokenFile] as const

interface Chosen {
  readonly credential: ClientCredential.ClientCredential
  readonly used: string
  readonly ignored: ReadonlyArray<string>
}

const credentialOf = (raw: Raw): Either.Either<Chosen, ConfigError.ConfigError> => {
  const isSet = {
    [Variables.clientSecret]: Option.isSome(raw.clientSecret),
    [Variables.certificatePath]: Option.isSome(raw.certificatePath),
    [Variables.federatedTokenFile]: Option.isSome(raw.federatedTokenFile)
  }
  const set = PRECEDENCE.filter((name) => isSet[name])
  if (set.length === 0) {
    return Either.left(ConfigError.MissingData(
      [Variables.clientSecret],
      `no client credential: set one of ${PRECEDENCE.join(", ")}`
    ))
  }
  const used = set[0]!
  const ignored = set.slice(1)
  if (Option.isNone(raw.certificatePath)) {
    if (Option.isSome(raw.certificatePassword)) {
      return invalid(Variables.certificatePassword, `is set but ${Variables.certificatePath} is not`)
    }
    if (Option.isSome(raw.sendCertificateChain)) {
      return invalid(Variables.sendCertificateChain, `is set but ${Variables.certificatePath} is not`)
    }
  }
  if (Option.isSome(raw.clientSecret)) {
    return Either.right({ credential: ClientCredential.secret(raw.clientSecret.value), used, ignored })
  }
  if (Option.isNone(raw.certificatePath)) {
    const file = Option.getOrThrow(raw.federatedTokenFile)
    return Either.right({ credential: ClientCredential.federatedTokenFile(file), used, ignored })
  }
  const path = raw.certificatePath.value
  let sendCertificateChain = false
  if (Option.isSome(raw.sendCertificateChain)) {
    const value = raw.sendCertificateChain.value.trim().toLowerCase()
    if (!TRUE.has(value) && !FALSE.has(value)) {
      return invalid(Variables.sendCertificateChain, "must be true or false (or 1 or 0)")
    }
    sendCertificateChain = TRUE.has(value)
  }
  return Either.right({
    credential: ClientCredential.certificateFile({
      path,
      passphrase: Option.getOrUndefined(raw.certificatePassword),
      sendCertificateChain
    }),
    used,
    ignored
  })
}

const REGION = "must be an Azure region name such as westus2 (lower-case letters, digits, '-')"

/**
 * The region of the environment: `MSAL_FORCE_REGION`, else `AZURE_REGIONAL_AUTHORITY_NAME`
 * (what @azure/identity reads, sdk/identity/identity/src/regionalAuthority.ts; its
 * `AutoDiscoverRegion` means `"discover"`).
 */
const regionOf = (raw: Raw): Either.Either<string | undefined, ConfigError.ConfigError> => {
  if (Option.isSome(raw.forceRegion)) {
    const region = raw.forceRegion.value.trim()
    return Region.isValidName(region) ? Either.right(region) : invalid(Variables.forceRegion, REGION)
  }
  if (Option.isSome(raw.regionalAuthorityName)) {
    const region = raw.regionalAuthorityName.value.trim()
    if (region === AUTO_DISCOVER_REGION) return Either.right("discover")
    return Region.isValidName(region)
      ? Either.right(region)
      : invalid(Variables.regionalAuthorityName, `${REGION}, or ${AUTO_DISCOVER_REGION}`)
  }
  return Either.right(undefined)
}

const settingsOf =
  (options: ConfigOptions | undefined) => (raw: Raw): Either.Either<Settings, ConfigError.ConfigError> => {
    const clientId = raw.clientId.trim()
    if (clientId.length === 0) return invalid(Variables.clientId, "must not be empty")
    return Either.flatMap(
      regionOf(raw),
      (region) =>
        Either.flatMap(
          authorityOf(raw),
          (authority) =>
            Either.map(credentialOf(raw), ({ credential, ignored, used }): Settings => {
              const { signer: _signer, ...rest } = options ?? {}
              const azureRegion = rest.azureRegion !== undefined ? rest.azureRegion : region
              return {
                options: { ...rest, clientId, authority, ...(azureRegion === undefined ? {} : { azureRegion }) },
                credential,
                ...(ignored.length === 0 ? {} : {
                  warning:
                    `effect-msal: several client credentials are set: using ${used}, ignoring ${ignored.join(", ")} ` +
                    `(the precedence of @azure/identity's EnvironmentCredential: ${PRECEDENCE.join(", ")})`
                })
              }
            })
        )
    )
  }

/**
 * The client's options and credential from the environment names Azure tooling uses. A
 * missing, malformed or conflicting variable is a `ConfigError` naming it. @internal
 */
export const settings = (options?: ConfigOptions): Config.Config<Settings> =>
  Raw.pipe(Config.mapOrFail(settingsOf(options)))

/** `settings`, logging its warning (ignored credential variables) when there is one. @internal */
export const settingsLogged = (options?: ConfigOptions): Effect.Effect<Settings, ConfigError.ConfigError> =>
  Effect.tap(settings(options), (s) => s.warning === undefined ? Effect.void : Effect.logWarning(s.warning))
