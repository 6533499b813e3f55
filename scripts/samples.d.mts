// Types for scripts/samples.mjs, so the TypeScript tests can import it.
/** A ```ts block of a Markdown text: the fence's line (1-based), its code, its sample tags. */
export interface Sample {
  readonly line: number
  readonly code: string
  readonly tags: ReadonlyArray<string>
}
/** The ```ts blocks of a Markdown text. */
export declare const samples: (markdown: string) => ReadonlyArray<Sample>
/** The README's block tagged first-program. */
export declare const firstProgram: (readme: string) => string
/** The repository files a Markdown text links to. */
export declare const readmeLinks: (markdown: string) => ReadonlyArray<string>
