// Builds the webview (scripts/build.mjs) and the benchmark (scripts/benchPanel.ts), then runs it.
// `node scripts/benchPanel.mjs [layers=300] [runs=7]` prints one line of JSON with panelFirstPaintMs.
import * as esbuild from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { wasmKernels } from "./wasmKernels.mjs";

const root = new URL("..", import.meta.url).pathname;
execFileSync(process.execPath, [join(root, "scripts", "build.mjs")], { stdio: "inherit" });
const outdir = join(root, "out", "bench");
mkdirSync(outdir, { recursive: true });
await esbuild.build({
  entryPoints: [join(root, "scripts", "benchPanel.ts")],
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  outfile: join(outdir, "benchPanel.cjs"),
  external: ["playwright-core"],
  logLevel: "warning",
  absWorkingDir: root,
  plugins: [wasmKernels],
});
execFileSync(process.execPath, [join(outdir, "benchPanel.cjs"), ...process.argv.slice(2)], { stdio: "inherit" });
