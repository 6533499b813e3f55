import type { Settings, TestUser } from "../../TestAuthority.js"

/** The home tenant of the default users. @internal */
export const DEFAULT_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"

/** @internal */
export const DEFAULT_USERS: ReadonlyArray<TestUser> = [
  {
    username: "alice@contoso.onmicrosoft.com",
    password: "correct horse battery staple",
    displayName: "Alice Adams",
    objectId: "aa905949-a2b8-4e0a-8aea-b32e53ccdb41",
    tenantId: DEFAULT_TENANT_ID
  },
  {
    username: "bob@contoso.onmicrosoft.com",
    password: "hunter2-but-longer",
    displayName: "Bob Baker",
    objectId: "0b0b0b0b-1111-4222-8333-444455556666",
    tenantId: DEFAULT_TENANT_ID
  },
  {
    username: "carol@fabrikam.example",
    displayName: "Carol Federated",
    objectId: "c4c4c4c4-1111-4222-8333-444455556666",
    tenantId: "f4b2c3d4-0000-4000-8000-00000000fab0",
    federated: true
  }
]

/** The users of the directory: `Settings.users`, else the default users. @internal */
export const usersOf = (settings: Settings): ReadonlyArray<TestUser> => settings.users ?? DEFAULT_USERS
