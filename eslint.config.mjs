// Lint holds the layering (see README "Architecture"):
//   core      pure TypeScript: imports only itself (and small pure npm packages)
//   protocol  message types, their schemas and the one request/reply layer: imports core types, and at run time
//             only core's schema mechanism (core/schema.ts) and error kinds (core/errors.ts)
//   runtime   the only layer that imports onnxruntime-node; runs in the inference process (a child process)
//   extension the only layer that imports 'vscode'
//   cli       core + runtime from a terminal
//   node      Node-only helpers shared by the CLI and the extension host (the atomic writer): imports core only
//   webview   DOM code: imports protocol and core only
import tseslint from "typescript-eslint";
import importPlugin from "eslint-plugin-import";

const domGlobals = ["window", "document", "navigator", "HTMLElement", "requestAnimationFrame", "localStorage"];
const noDom = domGlobals.map((name) => ({ name, message: "DOM code belongs in webview/." }));
const ort = { name: "onnxruntime-node", message: "Only src/runtime may import onnxruntime-node." };
const vscode = { name: "vscode", message: "Only src/extension may import 'vscode'." };
// Pure layers (core, protocol) may not touch Node, by pattern: every built-in module (import/no-nodejs-modules),
// anything under node:, the native packages, and Node's globals.
const pureMessage = "src/core and src/protocol are pure: no I/O, no Node built-ins. Pass bytes and arrays in.";
const purePatterns = [{ group: ["node:*", "sharp", "sharp/*", "onnxruntime-*"], message: pureMessage }];
const nodeGlobals = [
  "Buffer",
  "process",
  "global",
  "require",
  "__dirname",
  "__filename",
  "setTimeout",
  "setInterval",
  "setImmediate",
  "clearTimeout",
  "clearInterval",
  "clearImmediate",
  "queueMicrotask",
  "fetch",
].map((name) => ({ name, message: pureMessage }));
// Only src/runtime reaches into onnxruntime (its bundle must hold exactly one copy of onnxruntime-common).
const ortDeep = {
  group: ["onnxruntime-node/*", "onnxruntime-common", "onnxruntime-common/*"],
  message: "Only src/runtime may import onnxruntime.",
};

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "dist/**",
      "out/**",
      ".cache/**",
      ".scratch/**",
      "test-results/**",
      "**/*.d.ts",
      // AssemblyScript (compiled to WebAssembly by scripts/build.mjs), checked by its own compiler.
      "src/core/stats/kernel/**",
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { import: importPlugin },
    settings: { "import/resolver": { node: { extensions: [".ts", ".js"] } } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Every package we import is declared (not only present because another package brought it).
      "import/no-extraneous-dependencies": [
        "error",
        { devDependencies: ["test/**", "scripts/**", "*.mjs", "**/*.config.*"], optionalDependencies: false, peerDependencies: false },
      ],
      "import/no-restricted-paths": [
        "error",
        {
          zones: [
            {
              target: "./src/core",
              from: ["./src/protocol", "./src/runtime", "./src/extension", "./src/cli", "./src/node", "./webview"],
              message: "core imports nothing of ours but itself.",
            },
            {
              target: "./src/protocol",
              from: ["./src/runtime", "./src/extension", "./src/cli", "./src/node", "./webview"],
              message: "protocol holds message types, their schemas and the request/reply layer; it may import core.",
            },
            {
              target: "./src/runtime",
              from: ["./src/extension", "./src/cli", "./webview"],
              message: "runtime imports core, protocol and src/node only.",
            },
            {
              target: "./src/extension",
              from: ["./src/cli", "./webview"],
              message: "extension imports core, protocol and runtime's host-side client only.",
            },
            {
              target: "./src/extension",
              from: "./src/runtime",
              except: ["./client.ts"],
              message: "extension may use src/runtime/client.ts only: the rest of runtime runs in the worker.",
            },
            { target: "./src/cli", from: ["./src/extension", "./webview"], message: "cli imports core, node and runtime only." },
            {
              target: "./src/node",
              from: ["./src/protocol", "./src/runtime", "./src/extension", "./src/cli", "./webview"],
              message: "src/node holds Node helpers shared by the CLI and the extension: it imports core only.",
            },
            {
              target: "./src/cli",
              from: "./src/runtime",
              except: ["./client.ts"],
              message: "cli may use src/runtime/client.ts only: the rest of runtime runs in the worker.",
            },
            {
              target: "./webview",
              from: ["./src/runtime", "./src/extension", "./src/cli", "./src/node"],
              message: "webview imports protocol and pure core only.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/core/**/*.ts", "src/protocol/**/*.ts"],
    rules: {
      "import/no-nodejs-modules": "error",
      "no-restricted-imports": ["error", { paths: [ort, vscode], patterns: purePatterns }],
      "no-restricted-globals": ["error", ...noDom, ...nodeGlobals],
    },
  },
  {
    // The protocol states the messages; what it runs is the one schema mechanism, which lives in core so that
    // reports and messages are checked alike. Anything else of core it may name only as a type.
    files: ["src/protocol/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../core/**", "!../core/schema", "!../core/errors"],
              allowTypeImports: true,
              message: "protocol imports core types only, besides core/schema.ts (validators) and core/errors.ts (error kinds).",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/runtime/**/*.ts", "src/cli/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [vscode] }],
      "no-restricted-globals": ["error", ...noDom],
    },
  },
  {
    // Shared with the extension host, so like it never loads onnxruntime.
    files: ["src/node/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [vscode, ort], patterns: [ortDeep] }],
      "no-restricted-globals": ["error", ...noDom],
    },
  },
  {
    files: ["src/runtime/client.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            vscode,
            { name: "onnxruntime-node", message: "client.ts runs on the caller's thread: it must never load onnxruntime-node." },
          ],
        },
      ],
    },
  },
  {
    files: ["src/extension/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [ort], patterns: [ortDeep] }],
      "no-restricted-globals": ["error", ...noDom],
    },
  },
  {
    files: ["webview/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [ort, vscode], patterns: [{ group: ["node:*", "fs", "path"], message: "The webview runs in a browser." }, ortDeep] },
      ],
    },
  },
);
