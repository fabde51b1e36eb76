// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** The engine (src/core), the worker and the command line never import `vscode`: they run outside VS Code. */
const vscodeFree = {
  files: ["src/core/**/*.ts", "src/worker/**/*.ts", "src/cli/**/*.ts", "src/protocol/**/*.ts", "webview-ui/**/*.ts"],
  rules: {
    "no-restricted-imports": ["error", { paths: [{ name: "vscode", message: "src/core, src/worker, src/cli, src/protocol and the webview must stay VS Code–free." }] }],
  },
};

export default tseslint.config(
  { ignores: ["dist/**", "out/**", "node_modules/**", "tools/**", "**/*.js", "**/*.cjs", "**/*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  vscodeFree,
);
