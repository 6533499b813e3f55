import * as Effect from "effect/Effect"
import type { Service } from "../../ConfidentialClient.js"
import type { InvalidRequest } from "../../MsalError.js"
import type { ClientContext } from "../context.js"
import * as Accounts from "./accounts.js"
import * as AuthCode from "./authCode.js"
import * as OnBehalfOf from "./onBehalfOf.js"
import * as RefreshToken from "./refreshToken.js"
import * as Silent from "./silent.js"
import * as UsernamePassword from "./usernamePassword.js"
import { makeUserContext } from "./userGrant.js"

/** The grants on behalf of users, sharing one validated user context. @internal */
export type UserGrants = Omit<Service, "acquireTokenForClient" | "removeTokensForClient">

/** @internal */
export const make = (ctx: ClientContext): Effect.Effect<UserGrants, InvalidRequest> =>
  Effect.map(makeUserContext(ctx), (u) => ({
    ...OnBehalfOf.make(u),
    ...AuthCode.make(u),
    ...RefreshToken.make(u),
    ...Silent.make(u),
    ...Accounts.make(u),
    ...UsernamePassword.make(u)
  }))
