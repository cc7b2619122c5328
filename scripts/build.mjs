// Bundles every entry point with esbuild. `node scripts/build.mjs [--tests] [--watch]`.
// onnxruntime-node, onnxruntime-common and sharp stay external: a second copy of onnxruntime-common
// inside a bundle breaks backend lookup, and native binaries must stay next to their loaders.
import * as esbuild from "esbuild";
import { chmodSync, readdirSync, statSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { wasmKernels } from "./wasmKernels.mjs";

const root = new URL("..", import.meta.url).pathname;
const args = new Set(process.argv.slice(2));
const external = ["vscode", "onnxruntime-node", "onnxruntime-common", "sharp", "mocha", "playwright-core"];
const common = { bundle: true, sourcemap: true, logLevel: "warning", absWorkingDir: root, plugins: [wasmKernels] };
const node = { ...common, platform: "node", format: "cjs", target: "node20", external };

const builds = [
  { ...node, entryPoints: { extension: "src/extension/extension.ts" }, outdir: "dist" },
  { ...node, entryPoints: { worker: "src/runtime/worker.ts", foldThread: "src/runtime/foldThread.ts" }, outdir: "dist" },
  { ...node, entryPoints: { cli: "src/cli/main.ts" }, outdir: "dist", banner: { js: "#!/usr/bin/env node" } },
  {
    ...common,
    platform: "browser",
    format: "iife",
    target: "chrome120",
    entryPoints: { webview: "webview/main.ts", standalone: "webview/standalone.ts" },
    outdir: "dist",
    loader: { ".css": "text" },
  },
];

function walk(dir, test = (name) => /\.test\.ts$/.test(name), out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, test, out);
    else if (test(name, dir)) out.push(p);
  }
  return out;
}
const entryPointsOf = (entries) => Object.fromEntries(entries.map((p) => [relative(root, p).replace(/\.ts$/, ""), p]));

if (args.has("--tests")) {
  rmSync(join(root, "out", "test"), { recursive: true, force: true });
  const entries = walk(join(root, "test"), (name) => /\.test\.ts$/.test(name) && !/\.vscode\.test\.ts$/.test(name));
  builds.push({ ...node, entryPoints: entryPointsOf(entries), outdir: "out" });
  // Extension-host suites (test/extension/, test/harness/extension/): the index.ts that VS Code loads as
  // extensionTestsPath, and the *.vscode.test.ts it runs, land in out/test/.../ beside each other.
  const hostEntries = walk(
    join(root, "test"),
    (name, dir) => /\.vscode\.test\.ts$/.test(name) || (name === "index.ts" && /[\\/]extension$/.test(dir)),
  );
  if (hostEntries.length) builds.push({ ...node, entryPoints: entryPointsOf(hostEntries), outdir: "out" });
}

if (args.has("--tools")) {
  // Command-line tools that are not tests: the fuzzer and the benchmarks.
  const tools = ["test/fuzz/fuzzMain.ts", "scripts/bench.ts"].filter((p) => {
    try {
      return statSync(resolve(root, p)).isFile();
    } catch {
      return false;
    }
  });
  builds.push({
    ...node,
    entryPoints: Object.fromEntries(tools.map((p) => [p.replace(/^.*\//, "").replace(/\.ts$/, ""), resolve(root, p)])),
    outdir: "out/tools",
  });
}

const existing = builds.filter((b) =>
  Object.values(b.entryPoints).every((p) => {
    try {
      return statSync(resolve(root, p)).isFile();
    } catch {
      return false;
    }
  }),
);
if (args.has("--watch")) {
  for (const b of existing) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(existing.map((b) => esbuild.build(b)));
  // dist/cli.js is package.json's `bin`: make it runnable as ./dist/cli.js too.
  try {
    chmodSync(join(root, "dist", "cli.js"), 0o755);
  } catch {
    /* not built in this run */
  }
}
