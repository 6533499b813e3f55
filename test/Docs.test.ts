import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { firstProgram, readmeLinks, samples } from "../scripts/samples.mjs"

const readme = readFileSync("README.md", "utf8")
const docs = readdirSync("docs").filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)

describe("README first steps and docs samples (type-checked and run by scripts/check-docs.mjs)", () => {
  it("samples(): ```ts blocks with their line and the tags of the comment before them", () => {
    const md = [
      "# t",
      "<!-- sample: first-program run -->",
      "```ts",
      "const a = 1",
      "```",
      "",
      "```sh",
      "ls",
      "```",
      "```ts",
      "b",
      "```"
    ].join("\n")
    expect(samples(md)).toEqual([
      { line: 3, code: "const a = 1\n", tags: ["first-program", "run"] },
      { line: 10, code: "b\n", tags: [] }
    ])
    expect(firstProgram(md)).toBe("const a = 1\n")
    expect(() => samples("```ts\nnever closed")).toThrow("unclosed")
  })

  it("readmeLinks(): relative links and images, without anchors; URLs and anchors alone are not files", () => {
    expect(
      readmeLinks("[a](docs/caches.md#x) ![p](./docs/web-signed-in.png) [u](https://x.y/z) [h](#here) [m](mailto:a@b)")
    ).toEqual(["docs/caches.md", "docs/web-signed-in.png"])
  })

  it("the README opens with the install line, then a first program run with Effect.runPromise against effect-msal/TestAuthority", () => {
    const install = readme.indexOf("npm i effect-msal effect @effect/platform")
    const first = readme.indexOf("<!-- sample: first-program run -->")
    const quickStart = readme.indexOf("## Quick start (this repository)")
    expect(install).toBeGreaterThan(0)
    expect(first).toBeGreaterThan(install)
    expect(quickStart).toBeGreaterThan(first)
    const program = firstProgram(readme)
    expect(program).toContain(`import * as TestAuthority from "effect-msal/TestAuthority"`)
    expect(program).toContain("Effect.runPromise(")
    expect(program).not.toMatch(/import \{[^}]*\bTestAuthority\b[^}]*\} from "effect-msal"/)
    // then Entra ID, and a service's runner
    expect(readme.indexOf("### Against Entra ID")).toBeGreaterThan(first)
    expect(readme).toContain("NodeRuntime.runMain(")
    expect(readme.match(/^```sh\nnpm ci && npm start .*\nnpm ci && npm test .*\n```$/m)).not.toBeNull()
  })

  it("every ```ts sample of README and docs is a complete file: it imports what it uses", () => {
    for (const file of ["README.md", ...docs]) {
      for (const s of samples(readFileSync(file, "utf8"))) {
        expect(s.code, `${file}:${s.line}`).toMatch(/^import /m)
      }
    }
  })

  it("Azure SDK calls are wrapped with Effect.tryPromise and a typed error, never Effect.promise", () => {
    const integrations = readFileSync("docs/integrations.md", "utf8")
    const code = samples(integrations).map((s) => s.code).join("\n")
    expect(code).not.toContain("Effect.promise(")
    expect(code).toMatch(/Effect\.tryPromise\(\{\s*try: [^]*?catch: \(cause\) => new \w+Error\(/)
  })

  it("npm run typecheck checks the samples; the runnable ones run", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }
    expect(pkg.scripts["typecheck"]).toContain("node scripts/check-docs.mjs")
    const runnable = ["README.md", ...docs].flatMap((f) =>
      samples(readFileSync(f, "utf8")).filter((s) => s.tags.includes("run"))
    )
    expect(runnable.length).toBeGreaterThanOrEqual(6)
  })
})
