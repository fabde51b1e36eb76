// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The layers, enforced by path (README "Layers"):
 *
 *   webview-ui ──▶ src/protocol ──▶ src/core ◀── src/worker ◀── src/extension
 *                                      ▲              ▲
 *                                      └── src/cli ───┘
 *
 * src/core imports nothing of the layers above it; src/protocol imports only src/core (and is compiled by the webview
 * too, so no Node or VS Code either); the webview imports only src/protocol; only src/extension imports `vscode`.
 * test/unit/project/layers.unit.test.ts lints probe files against these rules, so a rule that stops working fails
 * `npm test`.
 */
const vscode = { name: "vscode", message: "Only src/extension may import vscode." };
const layer = (group, message) => ({ group, message });

export const layerRules = [
  {
    files: ["src/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [vscode],
          patterns: [
            layer(
              ["**/protocol/**", "**/protocol", "**/worker/**", "**/extension/**", "**/cli/**"],
              "src/core imports nothing from src/protocol, src/worker, src/extension or src/cli.",
            ),
          ],
        },
      ],
    },
  },
  {
    files: ["src/protocol/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [vscode],
          patterns: [
            layer(["**/worker/**", "**/extension/**", "**/cli/**"], "src/protocol imports only src/core."),
            layer(
              ["node:*", "onnxruntime-node", "vscode-jsonrpc*", "@huggingface/*"],
              "src/protocol imports only src/core (the webview compiles it: no Node modules).",
            ),
          ],
        },
      ],
    },
  },
  {
    files: ["src/worker/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [vscode], patterns: [layer(["**/extension/**", "**/cli/**"], "src/worker imports only src/core and src/protocol.")] },
      ],
    },
  },
  {
    files: ["src/cli/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [vscode], patterns: [layer(["**/extension/**"], "src/cli does not import src/extension.")] }],
    },
  },
  {
    files: ["webview-ui/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [vscode],
          patterns: [
            layer(["**/src/core/**", "**/src/worker/**", "**/src/extension/**", "**/src/cli/**"], "webview-ui imports only src/protocol."),
            layer(["node:*"], "webview-ui runs in a browser: no Node modules."),
          ],
        },
      ],
    },
  },
];

export default tseslint.config(
  { ignores: ["dist/**", "out/**", "node_modules/**", "tools/**", "**/*.js", "**/*.cjs", "**/*.mjs", "test/fixtures/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        project: ["./tsconfig.test.json", "./webview-ui/tsconfig.json"],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      // A promise is awaited, returned, or marked deliberately unawaited with `void`.
      "@typescript-eslint/no-floating-promises": [
        "error",
        // node:test's test() and describe() return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "describe", "it", "suite"] }] },
      ],
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  ...layerRules,
);
