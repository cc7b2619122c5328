// Load through the real CLI: two shards of a model with 10,000 BatchNormalization layers (built here, never
// committed) merged, with the merge's wall time and peak resident memory printed. Minutes on a loaded
// machine: run by `npm test` (BN_LENS_LOAD_TESTS=1), skipped otherwise.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Report } from "../../src/core/report";
import { bnChainModel } from "../helpers/loadModels";
import { ROOT } from "../helpers/paths";

const CLI = path.join(ROOT, "dist", "cli.js");

/** Runs the CLI; its exit code, output, wall time and peak resident memory (VmHWM, read every 100 ms). */
function measured(args: string[]): Promise<{ code: number | null; stderr: string; seconds: number; peakMb: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let peakKb = 0;
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // The process has just ended.
      }
    }, 100);
    child.on("close", (code) => {
      clearInterval(poll);
      resolve({ code, stderr, seconds: (performance.now() - started) / 1000, peakMb: peakKb / 1024 });
    });
  });
}

describe("bn-lens load: merging large reports", function () {
  this.timeout(1_800_000);
  let tmp: string;
  before(function () {
    if (!process.env.BN_LENS_LOAD_TESTS) this.skip();
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-load-")));
  });
  after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

  it("merges two shards of a 10,000-BN-layer model into the report of all their samples", async () => {
    const model = path.join(tmp, "deep-10000.onnx");
    fs.writeFileSync(model, bnChainModel(10_000, 4));
    const shards = [0, 1].map((i) => path.join(tmp, `shard-${i}.json`));
    for (const [i, out] of shards.entries()) {
      const r = spawnSync(process.execPath, [CLI, "inspect", model, "--samples", "8", "--seed", "3", "--shard", `${i}/2`, "--json", out], {
        encoding: "utf8",
        timeout: 900_000,
      });
      assert.equal(r.status, 0, r.stderr);
    }
    const out = path.join(tmp, "merged.json");
    const r = await measured(["merge", ...shards, "--json", out]);
    assert.equal(r.code, 0, r.stderr);
    const mb = (f: string) => (fs.statSync(f).size / 2 ** 20).toFixed(0);
    console.log(
      `      merge of 2 reports of 10,000 BN layers (${mb(shards[0])} + ${mb(shards[1])} MB): ` +
        `${r.seconds.toFixed(1)} s, peak resident memory ${r.peakMb.toFixed(0)} MB`,
    );
    const [a, b] = shards.map((f) => JSON.parse(fs.readFileSync(f, "utf8")) as Report);
    const merged = JSON.parse(fs.readFileSync(out, "utf8")) as Report;
    assert.equal(merged.layers.length, 10_000);
    assert.equal(merged.samples, a.samples + b.samples);
    assert.equal(merged.samples, 8);
    // Counts add up channel by channel in the first and the last layer (each shard counted once).
    for (const i of [0, 9_999])
      for (const side of ["pre", "post"] as const)
        assert.deepEqual(
          merged.layers[i][side].count,
          a.layers[i][side].count.map((n, c) => n + b.layers[i][side].count[c]),
        );
    // The merged mean of a channel is the count-weighted mean of the shards' means (float64, by hand).
    const l = 5_000;
    const [na, nb] = [a.layers[l].pre.count[2], b.layers[l].pre.count[2]];
    const expected = ((a.layers[l].pre.mean[2] as number) * na + (b.layers[l].pre.mean[2] as number) * nb) / (na + nb);
    assert.ok(Math.abs((merged.layers[l].pre.mean[2] as number) - expected) < 1e-9 * Math.max(1, Math.abs(expected)));
  });
});
