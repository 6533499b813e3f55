/**
 * effect-msal without Effect: `effect-msal/promise`. Rejections are the typed errors.
 */
import { ClientCredential, MsalError } from "effect-msal"
import * as Msal from "effect-msal/promise"

export const main = async (): Promise<void> => {
  const client = await Msal.make({
    clientId: "11111111-2222-3333-4444-555555555555",
    authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
    credential: ClientCredential.secret(process.env.CLIENT_SECRET ?? "")
  })
  try {
    const result = await client.acquireTokenForClient({ scopes: ["https://graph.microsoft.com/.default"] })
    console.log(`a token from ${result.tokenSource}, valid until ${result.expiresOn.toISOString()}`)
  } catch (error) {
    if (error instanceof MsalError.ServerError)
      console.error(`Entra refused: ${error.error} (${error.correlationId ?? "?"})`)
    else if (error instanceof MsalError.NetworkError) console.error(`no answer: ${error.message}`)
    else throw error
  } finally {
    await client.dispose()
  }
}
