/** The SKU and version sent in `x-client-sku` / `x-client-ver`. @internal */
export const SKU = "effect-msal"
/** @internal */
export const VERSION = "0.1.0"
