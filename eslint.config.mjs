// Lint and format: ESLint with typescript-eslint, and Effect's dprint rule (the formatter Effect's
// own packages use, run as a lint rule; `npm run format` applies its fixes). No type-aware rules,
// so a run stays quick.
import * as effectEslint from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"

/**
 * No function in src/ longer than this (blank and comment lines not counted): applied by
 * scripts/check-functions.mjs (`npm run check:functions`), kept out of `npm run lint` so that
 * each can gate CI on its own.
 */
export const functionLength = ["error", { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }]

export default tseslint.config(
  // what .gitignore ignores too: .samples/ is written by the type-check of the docs samples
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      ".bench-out/**",
      ".samples/**",
      "coverage/**",
      "docs/api/**",
      "test-results/**",
      "**/*.md",
      "**/*.json"
    ]
  },
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    languageOptions: { ecmaVersion: "latest", sourceType: "module" },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // Effect.gen generators need no yield
      "require-yield": "off",
      // the compiler already reports unused names (noUnusedLocals); `_` marks the intended ones
      "@typescript-eslint/no-unused-vars": ["error", {
        argsIgnorePattern: "^_",
        varsIgnorePattern: "^_",
        caughtErrors: "none"
      }],
      "@typescript-eslint/consistent-type-imports": ["error", {
        fixStyle: "separate-type-imports",
        disallowTypeAnnotations: false
      }],
      // `interface Account extends Schema.Schema.Type<typeof Account> {}` is how Effect names a schema's type
      "@typescript-eslint/no-empty-object-type": ["error", { allowInterfaces: "with-single-extends" }],
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force",
          // keep what the hand-written code does: import order, braces
          "module.sortImportDeclarations": "maintain",
          "module.sortExportDeclarations": "maintain",
          "importDeclaration.sortNamedImports": "maintain",
          "exportDeclaration.sortNamedExports": "maintain",
          "ifStatement.useBraces": "maintain",
          "forStatement.useBraces": "maintain",
          "forOfStatement.useBraces": "maintain",
          "forInStatement.useBraces": "maintain",
          "whileStatement.useBraces": "maintain",
          preferHanging: false
        }
      }]
    }
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "off"
    }
  }
)
