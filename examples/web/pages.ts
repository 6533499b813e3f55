/**
 * The web app's pages: plain HTML, every value escaped.
 */
import { HttpServerResponse } from "@effect/platform"

/** HTML-escapes text for element content and quoted attributes. */
export const escape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

const STYLE = `
body { font-family: system-ui, sans-serif; background: #f3f5f8; color: #1f2933; margin: 0; }
main { max-width: 34rem; margin: 4rem auto; background: #fff; border-radius: 10px; padding: 2rem 2.5rem;
  box-shadow: 0 2px 12px rgba(0,0,0,.08); }
h1 { font-size: 1.5rem; margin-top: 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1rem; }
dt { color: #616e7c; }
dd { margin: 0; }
a.button { display: inline-block; background: #0f6cbd; color: #fff; padding: .55rem 1.2rem; border-radius: 6px;
  text-decoration: none; margin-top: 1rem; }
.error h1 { color: #b42318; }
footer { color: #7b8794; font-size: .8rem; margin-top: 2rem; }
`

const layout = (title: string, body: string, mode: string): string =>
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title><style>${STYLE}</style></head>
<body><main>
${body}
<footer>effect-msal web app example · identity provider: ${escape(mode)}</footer>
</main></body></html>`

const page = (status: number, title: string, body: string, mode: string) =>
  HttpServerResponse.html(layout(title, body, mode)).pipe(
    HttpServerResponse.setStatus(status),
    HttpServerResponse.setHeader("cache-control", "no-store")
  )

/** Nobody is signed in. */
export const signedOut = (mode: string, note?: string) =>
  page(
    200,
    "Welcome",
    `<h1>Welcome</h1>
${note === undefined ? "" : `<p class="note">${escape(note)}</p>`}
<p>You are not signed in.</p>
<a class="button" id="sign-in" href="/login">Sign in</a>`,
    mode
  )

/** What the signed-in page shows. */
export interface SignedIn {
  readonly name: string
  readonly username: string
  readonly tenantId: string
  readonly tokenSource: "cache" | "identity_provider"
  readonly expiresOn: Date
  readonly scopes: ReadonlyArray<string>
}

/** A user is signed in: their name, and where this request's access token came from. */
export const signedIn = (mode: string, user: SignedIn) =>
  page(
    200,
    `Hello, ${user.name}`,
    `<h1>Hello, <span id="user-name">${escape(user.name)}</span></h1>
<dl>
<dt>Signed in as</dt><dd id="username">${escape(user.username)}</dd>
<dt>Tenant</dt><dd>${escape(user.tenantId)}</dd>
<dt>Access token</dt><dd id="token-source">${
      user.tokenSource === "cache" ? "from the token cache" : "from the identity provider"
    } (acquireTokenSilent)</dd>
<dt>Scopes</dt><dd>${escape(user.scopes.join(" "))}</dd>
<dt>Expires</dt><dd>${escape(user.expiresOn.toISOString())}</dd>
</dl>
<a class="button" id="sign-out" href="/logout">Sign out</a>`,
    mode
  )

/** Something went wrong: what, in words, and a way back. Never a stack trace. */
export const error = (mode: string, status: number, title: string, description: string) =>
  page(
    status,
    title,
    `<div class="error"><h1 id="error-title">${escape(title)}</h1>
<p id="error-description">${escape(description)}</p></div>
<a class="button" href="/">Back to the start</a>`,
    mode
  )
