/**
 * Issue #10 through the real CLI: merge validates every report (one sentence naming file, field and what
 * was expected) and refuses duplicates; Ctrl-C and SIGTERM to the whole process group cancel cleanly; no
 * output ever lands on an input; stdout errors and bad external data get a sentence.
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation } from "onnx-buf";
import { buildDemoModel } from "../../src/core/demo/demoModel";
import type { Report } from "../../src/core/report";
import { CLI, bnLens } from "../helpers/cli";
import { FACE_DETECTOR, FACE_IMAGES } from "../helpers/paths";
import { npyBytes } from "../helpers/npyBytes";

/** Exit `code` (2 unless given) and exactly `line` on stderr, the only line, no stack. */
function assertError(r: ReturnType<typeof bnLens>, line: string, code = 2) {
  assert.equal(r.stderr, `error: ${line}\n`);
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
}

describe("bn-lens reliability (issue #10)", function () {
  this.timeout(180_000);
  let tmp: string;
  let model: string;
  let a: string;
  let b: string;
  let reportA: Report;
  before(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-rel-")));
    model = path.join(tmp, "demo.onnx");
    fs.writeFileSync(model, buildDemoModel());
    a = path.join(tmp, "a.json");
    b = path.join(tmp, "b.json");
    for (const [seed, out] of [
      ["1", a],
      ["2", b],
    ]) {
      const r = bnLens("inspect", model, "--samples", "16", "--seed", seed, "--json", out);
      assert.equal(r.code, 0, r.stderr);
    }
    reportA = JSON.parse(fs.readFileSync(a, "utf8")) as Report;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe("merge validates every report", () => {
    /** Writes a mutated copy of report A and merges it with B. */
    function mergeMutated(name: string, mutate: (r: Record<string, unknown> & Report) => void) {
      const r = structuredClone(reportA) as Record<string, unknown> & Report;
      mutate(r);
      const file = path.join(tmp, name);
      fs.writeFileSync(file, JSON.stringify(r));
      return bnLens("merge", file, b, "--json", path.join(tmp, "merged.json"));
    }
    const cases: [string, (r: Record<string, unknown> & Report) => void, string | (() => string)][] = [
      ["no-model.json", (r) => delete (r as Partial<Report>).model, 'field "model" is missing (expected a model object)'],
      [
        "no-histogram.json",
        (r) => delete (r as Partial<Report>).histogram,
        'field "histogram" is missing (expected a histogram scheme object)',
      ],
      [
        "no-pre.json",
        (r) => delete (r.layers[1] as Partial<Report["layers"][0]>).pre,
        'field "layers[1].pre" is missing (expected per-channel statistics (an object))',
      ],
      [
        "samples-string.json",
        (r) => ((r as { samples: unknown }).samples = "16"),
        'field "samples" must be a whole number of at least 0, not the string "16"',
      ],
      [
        "short-array.json",
        (r) => r.layers[0].pre.mean.pop(),
        'field "layers[0].pre.mean" must be an array of 8 (one per channel), not an array of 7',
      ],
      [
        "nan-string.json",
        (r) => ((r.layers[0].pre.count as unknown[])[3] = "NaN"),
        'field "layers[0].pre.count[3]" must be a whole number of at least 0, not the string "NaN"',
      ],
      [
        "null-count.json",
        (r) => ((r.layers[2].post.count as unknown[])[0] = null),
        'field "layers[2].post.count[0]" must be a whole number of at least 0, not null',
      ],
      [
        "negative-count.json",
        (r) => (r.layers[0].pre.count[0] = -5),
        'field "layers[0].pre.count[0]" must be a whole number of at least 0, not -5',
      ],
      [
        "negative-var.json",
        (r) => (r.layers[3].pre.var[1] = -1),
        'field "layers[3].pre.var[1]" must be a finite number of at least 0 or null, not -1',
      ],
      [
        "histogram-row.json",
        (r) => r.layers[0].post.histogram.perChannel[2].push(1),
        () => {
          const n = reportA.layers[0].post.histogram.total.length;
          return `field "layers[0].post.histogram.perChannel[2]" must be an array of ${n} (one per channel), not an array of ${n + 1}`;
        },
      ],
      ["no-id.json", (r) => delete (r as Partial<Report>).id, 'field "id" is missing (expected a run id (a string of hex digits))'],
    ];
    for (const [name, mutate, problem] of cases) {
      it(`refuses ${name}`, () => {
        const expected = typeof problem === "string" ? problem : problem();
        assertError(mergeMutated(name, mutate), `${path.join(tmp, name)} is not a valid BN Lens report: ${expected}.`);
      });
    }

    it("a 100,000-deep JSON is blamed on the input file", () => {
      const deep = path.join(tmp, "deep.json");
      fs.writeFileSync(deep, "[".repeat(100_000) + "]".repeat(100_000));
      assertError(
        bnLens("merge", deep, a, "--json", path.join(tmp, "merged.json")),
        `${deep} is not a BN Lens report (no generator "bn-lens"); pass files written by "bn-lens inspect --json".`,
      );
      // Deep nesting where a number belongs stops at that field.
      const deepField = path.join(tmp, "deep-field.json");
      const r0 = structuredClone(reportA);
      (r0.layers[0].pre.mean as unknown[])[0] = "DEEP";
      fs.writeFileSync(deepField, JSON.stringify(r0).replace('"DEEP"', "[".repeat(100_000) + "1" + "]".repeat(100_000)));
      const r = bnLens("merge", deepField, b, "--json", path.join(tmp, "merged.json"));
      assertError(
        r,
        `${path.join(tmp, "deep-field.json")} is not a valid BN Lens report: field "layers[0].pre.mean[0]" must be a finite number or null, not an array of 1.`,
      );
    });

    it("an old schema version is named", () => {
      assertError(
        mergeMutated("v1.json", (r) => ((r as { schemaVersion: number }).schemaVersion = 1)),
        `${path.join(tmp, "v1.json")} has report schema version 1, and this BN Lens reads version 2; re-run the inspection with this version.`,
      );
    });

    it("refuses the same file twice, under any name", () => {
      const out = path.join(tmp, "merged.json");
      assertError(
        bnLens("merge", a, b, a, "--json", out),
        `${a} is given twice; give each report once, or its samples are counted twice.`,
        2,
      );
      const alias = path.join(tmp, "alias.json");
      fs.symlinkSync(a, alias);
      assertError(
        bnLens("merge", a, alias, "--json", out),
        `${a} and ${alias} are the same file; give each report once, or its samples are counted twice.`,
      );
      // The same data under a path with `..` in it, and under a hard link (another name for the same inode,
      // which no real path resolves): both are the same file, not two reports of one run.
      fs.mkdirSync(path.join(tmp, "sub"), { recursive: true });
      const dotted = `${tmp}/sub/../a.json`; // not path.join, which would remove the ".."
      assertError(
        bnLens("merge", a, dotted, "--json", out),
        `${a} and ${dotted} are the same file; give each report once, or its samples are counted twice.`,
      );
      const hard = path.join(tmp, "hard.json");
      fs.linkSync(a, hard);
      assert.notEqual(fs.realpathSync(hard), fs.realpathSync(a));
      assertError(
        bnLens("merge", b, hard, a, "--json", out),
        `${hard} and ${a} are the same file; give each report once, or its samples are counted twice.`,
      );
      assert.ok(!fs.existsSync(out), "nothing was written");
    });

    it("refuses the same run identity (a copied report, a re-run shard, a merge merged with its own shard)", () => {
      const out = path.join(tmp, "merged.json");
      const copy = path.join(tmp, "copy.json");
      fs.copyFileSync(a, copy);
      assertError(
        bnLens("merge", a, copy, "--json", out),
        `${copy} and ${a} cover the same run (id ${reportA.id.slice(0, 12)}…: same model, data and seed); merging them would count those samples twice.`,
      );
      // Running the same shard again gives the same id.
      const again = path.join(tmp, "again.json");
      assert.equal(bnLens("inspect", model, "--samples", "16", "--seed", "1", "--json", again).code, 0);
      assert.equal((JSON.parse(fs.readFileSync(again, "utf8")) as Report).id, reportA.id);
      assertError(
        bnLens("merge", a, again, "--json", out),
        `${again} and ${a} cover the same run (id ${reportA.id.slice(0, 12)}…: same model, data and seed); merging them would count those samples twice.`,
      );
      assert.equal(bnLens("merge", a, b, "--json", out).code, 0);
      const merged = JSON.parse(fs.readFileSync(out, "utf8")) as Report;
      assert.deepEqual(merged.run.shards, [reportA.id, (JSON.parse(fs.readFileSync(b, "utf8")) as Report).id]);
      assertError(
        bnLens("merge", out, a, "--json", path.join(tmp, "merged2.json")),
        `${a} and ${out} cover the same run (id ${reportA.id.slice(0, 12)}…: same model, data and seed); merging them would count those samples twice.`,
      );
    });

    it("merges layer by layer: reports too large for the heap merge in it; --html (the whole merged report) still works", () => {
      // 300 copies of the demo's layers (renamed) make reports of 15 MB each. Read whole, the two do not fit
      // in a 64 MB heap (checked below with JSON.parse); the merge, which holds one layer of each, does, with
      // the rerun with a larger heap disabled.
      const COPIES = 300;
      const copies = (r: Report) => ({
        ...r,
        layers: Array.from({ length: COPIES }, (_, k) =>
          r.layers.map((l) => ({ ...l, index: k * r.layers.length + l.index, node: `${l.node}#${k}` })),
        ).flat(),
      });
      const [bigA, bigB] = [a, b].map((f, i) => {
        const file = path.join(tmp, `big-${i}.json`);
        fs.writeFileSync(file, JSON.stringify(copies(JSON.parse(fs.readFileSync(f, "utf8")) as Report)));
        return file;
      });
      const whole = spawnSync(
        process.execPath,
        [
          "--max-old-space-size=64",
          "-e",
          'const fs = require("fs"); globalThis.kept = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));',
          bigA,
          bigB,
        ],
        { encoding: "utf8" },
      );
      assert.notEqual(whole.status, 0, "the two reports, parsed whole, do not fit in 64 MB");
      const out = path.join(tmp, "merged-big.json");
      const r = spawnSync(process.execPath, ["--max-old-space-size=64", CLI, "merge", bigA, bigB, "--json", out], {
        encoding: "utf8",
        env: { ...process.env, BN_LENS_HEAP_RERUN: "1" },
      });
      assert.equal(r.status, 0, r.stderr);
      const merged = JSON.parse(fs.readFileSync(out, "utf8")) as Report;
      assert.equal(merged.layers.length, COPIES * reportA.layers.length);
      assert.equal(merged.samples, 32);
      fs.rmSync(out);
      // The HTML page embeds the whole merged report, read back: that needs the heap the reports need.
      const html = path.join(tmp, "merged-heap.html");
      const h = spawnSync(process.execPath, ["--max-old-space-size=100", CLI, "merge", a, b, "--json", out, "--html", html], {
        encoding: "utf8",
      });
      assert.equal(h.status, 0, h.stderr);
      assert.match(h.stdout, /Merged 2 reports \(32 samples\) into /);
      assert.ok(fs.statSync(html).size > 0);
    });

    it("a report cut off, damaged or short in the middle of its layers is one sentence, and no file is left", () => {
      const text = fs.readFileSync(a, "utf8");
      const middle = Math.floor((text.indexOf('"layers"') + text.indexOf('"activations"')) / 2);
      const out = path.join(tmp, "merged-cut.json");
      const left = () => fs.readdirSync(tmp).filter((f) => f.startsWith(".merged-cut.json") || f === "merged-cut.json");
      for (const [name, damaged] of [
        ["cut.json", text.slice(0, middle)],
        ["garbage.json", `${text.slice(0, middle)}\u0000#${text.slice(middle)}`],
      ]) {
        const file = path.join(tmp, name);
        fs.writeFileSync(file, damaged);
        for (const files of [
          [file, b],
          [b, file],
        ])
          assertError(bnLens("merge", ...files, "--json", out), `${file} is not JSON; pass reports written by "bn-lens inspect --json".`);
      }
      // Valid JSON with a layer fewer: the report with the other set of layers is named (as for any order).
      const short = structuredClone(reportA);
      short.layers.pop();
      const shortFile = path.join(tmp, "short.json");
      fs.writeFileSync(shortFile, JSON.stringify(short));
      for (const [files, named] of [
        [[shortFile, b], b],
        [[b, shortFile], shortFile],
      ] as const)
        assertError(
          bnLens("merge", ...files, "--json", out),
          `${named} has a different set of layers than the first report; merge reports of the same model only.`,
        );
      // A bad field in the last layer of the second report, found while merging.
      const bad = structuredClone(reportA);
      (bad.layers[bad.layers.length - 1].post.max as unknown[])[0] = "big";
      const badFile = path.join(tmp, "bad-last.json");
      fs.writeFileSync(badFile, JSON.stringify(bad));
      assertError(
        bnLens("merge", b, badFile, "--json", out),
        `${badFile} is not a valid BN Lens report: field "layers[${bad.layers.length - 1}].post.max[0]" must be a finite number or null, not the string "big".`,
      );
      assert.deepEqual(left(), [], "no merged file and no temporary file");
    });

    it("refuses a report written with --histograms layer", () => {
      const slim = structuredClone(reportA);
      for (const l of slim.layers) for (const side of [l.pre, l.post]) side.histogram.perChannel = [];
      const file = path.join(tmp, "slim.json");
      fs.writeFileSync(file, JSON.stringify(slim));
      assertError(
        bnLens("merge", b, file, "--json", path.join(tmp, "merged.json")),
        `${file} was written with --histograms layer, without the per-channel histograms merge needs to recount saturation; write it again with --histograms per-channel (the default).`,
      );
    });

    it("extreme but valid per-sample moments merge into a report that reads back (no interval with overflowed ends)", () => {
      const extreme = structuredClone(reportA);
      const ps = extreme.layers[0].perSample!;
      ps.m2.w[0] = 1e308;
      ps.m2.q[0] = 1e308;
      ps.m2.m[0] = 1e308;
      const file = path.join(tmp, "extreme.json");
      fs.writeFileSync(file, JSON.stringify(extreme));
      const merged = path.join(tmp, "merged-extreme.json");
      const r = bnLens("merge", file, b, "--json", merged);
      assert.equal(r.code, 0, r.stderr);
      const back = JSON.parse(fs.readFileSync(merged, "utf8")) as Report;
      for (const iv of [...back.layers[0].compare!.varRatioInterval, ...back.layers[0].compare!.zInterval])
        if (iv !== null) assert.ok(Number.isFinite(iv[0]) && Number.isFinite(iv[1]), `an interval with finite ends or none: ${iv}`);
      // The merged report is itself a valid report: merging it with another run reads it back.
      const again = bnLens("merge", merged, path.join(tmp, "a.json"), "--json", path.join(tmp, "merged-again.json"));
      assert.notEqual(again.code, 0);
      assert.doesNotMatch(again.stderr, /is not a valid BN Lens report/);
    });

    it("refuses --json naming one of the reports", () => {
      assertError(
        bnLens("merge", a, b, "--json", b),
        `--json ${b} would overwrite the input ${b}; BN Lens never writes over its inputs, so choose another file name.`,
      );
    });
  });

  describe("outputs never land on inputs", () => {
    it("--json empty, at the model, at an image of the data folder, at a folder, in a missing folder", () => {
      assertError(
        bnLens("inspect", model, "--json", ""),
        "--json needs a file name for the report, like --json report.json; it was given an empty string.",
      );
      const before = fs.readFileSync(model);
      assertError(
        bnLens("inspect", model, "--json", model),
        `--json ${model} would overwrite the input ${model}; BN Lens never writes over its inputs, so choose another file name.`,
      );
      assert.deepEqual(fs.readFileSync(model), before);
      const photo = path.join(FACE_IMAGES, "1.jpg");
      assertError(
        bnLens("inspect", FACE_DETECTOR, "--data", FACE_IMAGES, "--json", photo),
        `--json ${photo} would overwrite a file inside the input ${FACE_IMAGES}; BN Lens never writes over its inputs, so choose another file name.`,
      );
      assertError(
        bnLens("describe", model, "--json", tmp),
        `--json ${tmp} is a folder; give a file name inside it, like ${path.join(tmp, "report.json")}.`,
      );
      const missing = path.join(tmp, "no-such-folder", "r.json");
      assertError(
        bnLens("inspect", model, "--json", missing),
        `The folder ${path.dirname(missing)} for --json does not exist; create it first or choose another path.`,
      );
      const other = path.join(tmp, "other.onnx");
      fs.writeFileSync(other, before);
      assertError(
        bnLens("describe", model, "--json", other),
        `--json ${other} is an existing model or data file (.onnx); BN Lens writes reports as JSON and never over such files, so choose a .json file name.`,
      );
    });

    it("writes atomically: the old report stays whole until the new one replaces it, and no temporary file is left", () => {
      const out = path.join(tmp, "atomic.json");
      fs.writeFileSync(out, "old");
      const r = bnLens("describe", model, "--json", out);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(fs.readFileSync(out, "utf8")) as { layers: unknown[] }).layers.length, 4);
      assert.deepEqual(
        fs.readdirSync(tmp).filter((f) => f.endsWith(".tmp")),
        [],
      );
    });

    it("--mean, --std and --bgr with .npy data are refused", () => {
      const npy = path.join(tmp, "x.npy");
      fs.writeFileSync(npy, npyBytes("<f4", [4, 3, 8, 8], new Uint8Array(4 * 3 * 64 * 4)));
      assertError(
        bnLens("inspect", model, "--data", npy, "--mean", "127"),
        "--mean applies to images only, but the data is a .npy array; drop it, or normalise the arrays before saving them.",
      );
      assertError(
        bnLens("inspect", model, "--mean", "127", "--std", "128", "--bgr"),
        "--mean, --std, --bgr apply to images only, but the data is random data; drop them, or normalise the arrays before saving them.",
      );
    });
  });

  describe("output and model-file errors", () => {
    it("stdout full (> /dev/full): one sentence, exit 2, the report still written", () => {
      const out = path.join(tmp, "full.json");
      const fd = fs.openSync("/dev/full", "w");
      const r = spawnSync(process.execPath, [CLI, "describe", model, "--json", out], { stdio: ["ignore", fd, "pipe"], encoding: "utf8" });
      fs.closeSync(fd);
      assert.equal(
        r.stderr,
        "error: Cannot write the output to stdout: no space left on the device (ENOSPC); any --json report was still written.\n",
      );
      assert.equal(r.status, 2);
      assert.ok(fs.existsSync(out));
    });

    it("stdout closed early (| head -1): quiet, no stack", () => {
      const r = spawnSync("sh", ["-c", `"${process.execPath}" "${CLI}" describe "${FACE_DETECTOR}" | head -1`], { encoding: "utf8" });
      assert.equal(r.status, 0);
      assert.match(r.stdout, /^version-RFB-320\.onnx \(opset 9/);
      assert.equal(r.stderr, "");
    });

    it("an external data location naming a folder gives a sentence, not EISDIR", () => {
      const dir = path.join(tmp, "ext");
      fs.mkdirSync(path.join(dir, "weights"), { recursive: true });
      // The first BN keeps gamma in external data at "weights", a folder next to the model.
      const m = fromBinary(ModelProtoSchema, buildDemoModel());
      const w = m.graph!.initializer.find((t) => t.name === "bn1.weight")!;
      w.rawData = new Uint8Array(0);
      w.dataLocation = TensorProto_DataLocation.EXTERNAL;
      w.externalData = [create(StringStringEntryProtoSchema, { key: "location", value: "weights" })];
      fs.writeFileSync(path.join(dir, "m.onnx"), toBinary(ModelProtoSchema, m));
      assertError(
        bnLens("describe", path.join(dir, "m.onnx")),
        'Tensor "bn1.weight" keeps its data in "weights", which is a folder, not a file; the model\'s external data reference is damaged.',
      );
    });
  });

  describe("Ctrl-C and SIGTERM to the whole process group", () => {
    for (const [signal, code, name] of [
      ["SIGINT", 130, "Ctrl-C"],
      ["SIGTERM", 143, "SIGTERM"],
    ] as const) {
      it(`${signal}: cancels after the current batch, exit ${code}, no report, no process left`, async () => {
        const out = path.join(tmp, `${signal}.json`);
        const child = spawn(process.execPath, [CLI, "inspect", FACE_DETECTOR, "--samples", "4000", "--mode", "exact", "--json", out], {
          detached: true,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        let stdout = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
        // Wait until the inference process runs (it is the CLI's only child), then signal the whole group.
        let worker = "";
        for (let i = 0; i < 100 && !worker; i++) {
          await new Promise((r) => setTimeout(r, 100));
          worker = spawnSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], { encoding: "utf8" }).stdout.trim();
        }
        assert.ok(worker, "the inference process started");
        await new Promise((r) => setTimeout(r, 1500));
        process.kill(-child.pid!, signal);
        const exitCode = await exited;
        assert.equal(
          stderr,
          `Cancelling after the current batch (${name} again stops at once)…\nerror: The inspection was cancelled; no report was written.\n`,
        );
        assert.equal(exitCode, code);
        assert.equal(stdout, "");
        assert.equal(fs.existsSync(out), false);
        await new Promise((r) => setTimeout(r, 300));
        assert.throws(() => process.kill(Number(worker), 0), /ESRCH/, "the inference process is gone");
      });
    }
  });
});
