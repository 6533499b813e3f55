import { Config, ConfigError, Either, Option, Redacted } from "effect"
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
  forceRegion: "MSAL_FORCE_REGION"
} as const

/** @internal */
export const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"

/** What the environment configures: the client's options and its credential. @internal */
export interface Settings {
  readonly options: Options
  readonly credential: ClientCredential.ClientCredential
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
  forceRegion: optionalText(Variables.forceRegion)
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

const credentialOf = (raw: Raw): Either.Either<ClientCredential.ClientCredential, ConfigError.ConfigError> => {
  const kinds = [
    [Variables.clientSecret, Option.isSome(raw.clientSecret)],
    [Variables.certificatePath, Option.isSome(raw.certificatePath)],
    [Variables.federatedTokenFile, Option.isSome(raw.federatedTokenFile)]
  ] as const
  const set = kinds.filter(([, isSet]) => isSet).map(([name]) => name)
  if (set.length === 0) {
    return Either.left(ConfigError.MissingData(
      [Variables.clientSecret],
      `no client credential: set one of ${kinds.map(([name]) => name).join(", ")}`
    ))
  }
  if (set.length > 1) {
    return invalid(set[1]!, `conflicts with ${set[0]!}: set only one client credential`)
  }
  if (Option.isNone(raw.certificatePath)) {
    if (Option.isSome(raw.certificatePassword)) {
      return invalid(Variables.certificatePassword, `is set but ${Variables.certificatePath} is not`)
    }
    if (Option.isSome(raw.sendCertificateChain)) {
      return invalid(Variables.sendCertificateChain, `is set but ${Variables.certificatePath} is not`)
    }
  }
  if (Option.isSome(raw.clientSecret)) return Either.right(ClientCredential.secret(raw.clientSecret.value))
  if (Option.isSome(raw.federatedTokenFile)) {
    return Either.right(ClientCredential.federatedTokenFile(raw.federatedTokenFile.value))
  }
  const path = Option.getOrThrow(raw.certificatePath)
  let sendCertificateChain = false
  if (Option.isSome(raw.sendCertificateChain)) {
    const value = raw.sendCertificateChain.value.trim().toLowerCase()
    if (!TRUE.has(value) && !FALSE.has(value)) {
      return invalid(Variables.sendCertificateChain, "must be true or false (or 1 or 0)")
    }
    sendCertificateChain = TRUE.has(value)
  }
  return Either.right(ClientCredential.certificateFile({
    path,
    passphrase: Option.getOrUndefined(raw.certificatePassword),
    sendCertificateChain
  }))
}

const settingsOf = (options: ConfigOptions | undefined) => (raw: Raw): Either.Either<Settings, ConfigError.ConfigError> => {
  const clientId = raw.clientId.trim()
  if (clientId.length === 0) return invalid(Variables.clientId, "must not be empty")
  if (Option.isSome(raw.forceRegion) && !Region.isValidName(raw.forceRegion.value.trim())) {
    return invalid(Variables.forceRegion, "must be an Azure region name such as westus2 (lower-case letters, digits, '-')")
  }
  return Either.flatMap(authorityOf(raw), (authority) =>
    Either.map(credentialOf(raw), (credential): Settings => {
      const { signer: _signer, ...rest } = options ?? {}
      const azureRegion = rest.azureRegion !== undefined
        ? rest.azureRegion
        : Option.getOrUndefined(Option.map(raw.forceRegion, (r) => r.trim()))
      return {
        options: { ...rest, clientId, authority, ...(azureRegion === undefined ? {} : { azureRegion }) },
        credential
      }
    }))
}

/**
 * The client's options and credential from the environment names Azure tooling uses. A
 * missing, malformed or conflicting variable is a `ConfigError` naming it. @internal
 */
export const settings = (options?: ConfigOptions): Config.Config<Settings> =>
  Raw.pipe(Config.mapOrFail(settingsOf(options)))
