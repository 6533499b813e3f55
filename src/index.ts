/**
 * effect-msal: OAuth 2.0 tokens for confidential clients from Microsoft Entra ID, as Effects.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AuthCodeFlow from "./AuthCodeFlow.js"
/** @since 0.1.0 */
export * as AuthenticationResult from "./AuthenticationResult.js"
/** @since 0.1.0 */
export * as Authority from "./Authority.js"
/** @since 0.1.0 */
export * as CacheEntry from "./CacheEntry.js"
/** @since 0.1.0 */
export * as ClientCredential from "./ClientCredential.js"
/** @since 0.1.0 */
export * as ConfidentialClient from "./ConfidentialClient.js"
/** @since 0.1.0 */
export * as CredentialSigner from "./CredentialSigner.js"
/** @since 0.1.0 */
export * as HttpCache from "./HttpCache.js"
/** @since 0.1.0 */
export * as Metrics from "./Metrics.js"
/** @since 0.1.0 */
export * as ManagedIdentity from "./ManagedIdentity.js"
/** @since 0.1.0 */
export * as MsalError from "./MsalError.js"
/** @since 0.1.0 */
export * as Requests from "./Requests.js"
/** @since 0.1.0 */
export * as TokenCache from "./TokenCache.js"
/** @since 0.1.0 */
export * as Transport from "./Transport.js"
