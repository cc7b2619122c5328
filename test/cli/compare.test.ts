import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import type { ComparisonReport } from "../../src/core/compare/comparisonReport";
import { assertCleanError, bnLens } from "../helpers/cli";
import { FACE_DETECTOR, FACE_IMAGES, ONNX_BN_TESTS } from "../helpers/paths";

const PIXELS = ["--mean", "127", "--std", "128"];

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T;

describe("bn-lens compare on the face detector", function () {
  this.timeout(600_000);
  let tmp: string;
  let reportA: string;
  const photos = fs.readdirSync(FACE_IMAGES).filter((f) => f.endsWith(".jpg"));

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-compare-"));
    reportA = path.join(tmp, "A.json");
    const r = bnLens("inspect", FACE_DETECTOR, "--data", FACE_IMAGES, ...PIXELS, "--json", reportA);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("photos 40% brighter (made here with sharp): the shift starts at the first BN layer", async () => {
    const bright = path.join(tmp, "bright");
    fs.mkdirSync(bright);
    // Every pixel value times 1.4 (clipped at 255), saved losslessly.
    for (const f of photos)
      await sharp(path.join(FACE_IMAGES, f))
        .linear(1.4, 0)
        .png()
        .toFile(path.join(bright, f.replace(/\.jpg$/, ".png")));
    const out = path.join(tmp, "AB.json");
    const r = bnLens("inspect", FACE_DETECTOR, "--data", bright, ...PIXELS, "--baseline", reportA, "--compare-json", out);
    assert.equal(r.code, 0, r.stderr);
    const c = readJson<ComparisonReport>(out);
    assert.equal(c.schemaVersion, 1);
    assert.equal(c.kind, "bn-lens-comparison");
    assert.equal(c.layers.length, 35);
    const first = c.layers[0];
    assert.deepEqual(c.shiftStart, { index: first.index, node: first.node, score: first.pre.score });
    assert.equal(first.node, "BatchNormalization_1");
    // Brighter input raises the first convolution's outputs in most channels: many of them shift, well above noise.
    assert.ok(first.shiftedChannels.length >= 8, `shifted channels ${first.shiftedChannels.length}`);
    assert.ok(first.pre.score! > 10 * first.pre.scoreNoiseFloor!);
    assert.equal(first.findings[0].rule, "domain-shift");
    assert.match(first.findings[0].message, /the input data differ between A and B/);
    assert.match(r.stdout, /The shift starts at layer 0 \(BatchNormalization_1\)/);
    assert.match(r.stdout, /BatchNormalization_1 .* ← shift starts/);
    // Layers in graph order, as in the inspection report.
    const a = readJson<{ layers: { node: string }[] }>(reportA);
    assert.deepEqual(
      c.layers.map((l) => l.node),
      a.layers.map((l) => l.node),
    );
  });

  it("channel order swapped (--bgr): the shift starts at the first BN layer too", () => {
    const reportB = path.join(tmp, "bgr.json");
    assert.equal(bnLens("inspect", FACE_DETECTOR, "--data", FACE_IMAGES, ...PIXELS, "--bgr", "--json", reportB).code, 0);
    const out = path.join(tmp, "bgr-compare.json");
    const r = bnLens("compare", reportA, reportB, "--json", out);
    assert.equal(r.code, 0, r.stderr);
    const c = readJson<ComparisonReport>(out);
    assert.equal(c.shiftStart?.node, "BatchNormalization_1");
    assert.equal(c.a.reportPath, reportA);
    assert.match(c.b.data.description, /BGR/);
    // Thresholds from the command line: at 0.35 no channel of the BGR run counts as shifted (the largest is about 0.3).
    const strict = path.join(tmp, "bgr-strict.json");
    assert.equal(bnLens("compare", reportA, reportB, "--drift-warning", "0.35", "--drift-error", "0.5", "--json", strict).code, 0);
    const cs = readJson<ComparisonReport>(strict);
    assert.deepEqual(cs.thresholds.jsDistance, { warning: 0.35, error: 0.5 });
    assert.ok(c.layers[0].pre.score! < 0.35, `largest BGR distance ${c.layers[0].pre.score}`);
    assert.equal(cs.layers[0].drifting, false);
    assertCleanError(bnLens("compare", reportA, reportB, "--noise-factor", "x"), /--noise-factor takes a number from 0 to 1000, not "x"/);
  });

  it("A against a copy of A's photos: exactly zero drift and no findings", () => {
    const copy = path.join(tmp, "copy");
    fs.mkdirSync(copy);
    for (const f of photos) fs.copyFileSync(path.join(FACE_IMAGES, f), path.join(copy, f));
    const out = path.join(tmp, "AA.json");
    const r = bnLens("inspect", FACE_DETECTOR, "--data", copy, ...PIXELS, "--baseline", reportA, "--compare-json", out);
    assert.equal(r.code, 0, r.stderr);
    const c = readJson<ComparisonReport>(out);
    assert.equal(c.shiftStart, null);
    for (const l of c.layers) {
      assert.equal(l.pre.score, 0, l.node);
      assert.equal(l.post!.score, 0, l.node);
      assert.ok(l.pre.smd.every((x) => x === 0));
      assert.deepEqual(l.findings, []);
    }
    assert.match(r.stdout, /No drift: no channel of any layer crosses 0\.1/);
    // The same report twice: the same.
    const self = bnLens("compare", reportA, reportA);
    assert.equal(self.code, 0, self.stderr);
    assert.match(self.stdout, /Findings: 0 errors, 0 warnings, 0 info\./);
  });

  it("refuses reports of different models, output over an input, and bad usage, in one line", () => {
    const other = path.join(tmp, "bn2d.json");
    const dir = path.join(ONNX_BN_TESTS, "test_BatchNorm2d_eval");
    assert.equal(bnLens("inspect", path.join(dir, "model.onnx"), "--data", path.join(dir, "test_data_set_0"), "--json", other).code, 0);
    assertCleanError(bnLens("compare", reportA, other), /A\.json and .*bn2d\.json are reports of different models \(version-RFB-320\.onnx/);
    const before = fs.readFileSync(reportA, "utf8");
    assertCleanError(
      bnLens("compare", reportA, other, "--json", reportA),
      /Refusing to write the comparison to .*A\.json: it is one of the input files/,
    );
    assertCleanError(
      bnLens("inspect", FACE_DETECTOR, "--data", FACE_IMAGES, ...PIXELS, "--baseline", reportA, "--json", reportA),
      /--json .*A\.json would overwrite the input .*A\.json; BN Lens never writes over its inputs/,
    );
    assert.equal(fs.readFileSync(reportA, "utf8"), before);
    assertCleanError(bnLens("compare", reportA), /compare takes two reports, A \(the baseline\) and B, got 1/);
    assertCleanError(bnLens("compare", reportA, path.join(tmp, "missing.json")), /Cannot read report .*missing\.json: it does not exist/);
    assertCleanError(
      bnLens("inspect", FACE_DETECTOR, "--compare-json", path.join(tmp, "x.json")),
      /--compare-json needs --baseline A\.json/,
    );
  });
});
