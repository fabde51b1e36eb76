// @ts-check
"use strict";
/**
 * Three Node bundles (extension host, engine worker, command line) and one browser bundle (webview).
 * onnxruntime-node is a native module: it stays external and ships in the .vsix's node_modules.
 * @huggingface/tokenizers is pure JS and is bundled.
 */
const path = require("path");
const webpack = require("webpack");

/** @type {(entry: string, out: string, extra?: Partial<import('webpack').Configuration>) => import('webpack').Configuration} */
function nodeBundle(entry, out, extra = {}) {
  return {
    name: out,
    target: "node20",
    mode: "none",
    entry: path.resolve(__dirname, entry),
    output: {
      path: path.resolve(__dirname, "dist"),
      filename: out,
      libraryTarget: "commonjs2",
      devtoolModuleFilenameTemplate: "../[resource-path]",
    },
    devtool: "nosources-source-map",
    // vscode-jsonrpc/node requires `net` for socket transports this project never uses: the bundles get an empty
    // module instead, so no shipped bundle loads a network module (test/unit/reliability/noNetwork.unit.test.ts).
    externals: { vscode: "commonjs vscode", "onnxruntime-node": "commonjs onnxruntime-node", net: "var {}" },
    resolve: { extensions: [".ts", ".js"], conditionNames: ["node", "require", "default"] },
    module: {
      rules: [{ test: /\.ts$/, exclude: /node_modules/, use: [{ loader: "ts-loader", options: { configFile: "tsconfig.json", transpileOnly: true } }] }],
    },
    node: { __dirname: false, __filename: false },
    infrastructureLogging: { level: "warn" },
    ...extra,
  };
}

/** @type {import('webpack').Configuration} */
const webview = {
  name: "webview",
  target: "web",
  mode: "none",
  entry: path.resolve(__dirname, "webview-ui/src/main.ts"),
  // publicPath "": no run-time guessing of the script's URL (the stylesheet is linked by the host's HTML).
  output: { path: path.resolve(__dirname, "dist", "webview"), filename: "webview.js", publicPath: "" },
  devtool: "nosources-source-map",
  resolve: { extensions: [".ts", ".js"] },
  module: {
    rules: [
      {
        test: /\.ts$/,
        exclude: /node_modules/,
        use: [{ loader: "ts-loader", options: { configFile: path.resolve(__dirname, "webview-ui/tsconfig.json"), transpileOnly: true } }],
      },
      // The panel's stylesheet is copied next to the bundle and linked from the page (CSP style-src = webview.cspSource).
      { test: /\.css$/, type: "asset/resource", generator: { filename: "panel.css" } },
    ],
  },
  performance: { hints: false },
};

module.exports = [
  nodeBundle("src/extension/extension.ts", "extension.js"),
  nodeBundle("src/worker/engineWorker.ts", "worker.js"),
  nodeBundle("src/cli/main.ts", "cli.js", {
    plugins: [new webpack.BannerPlugin({ banner: "#!/usr/bin/env node", raw: true, entryOnly: true })],
  }),
  webview,
];
