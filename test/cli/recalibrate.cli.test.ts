import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RecalibrationJson } from "../../src/core/recalibrate/recalibration";
import { assertCleanError, bnLens } from "../helpers/cli";
import { recalData, recalModelBytes } from "../helpers/recalModels";

describe("bn-lens recalibrate", function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-cli-recal-"));
    fs.writeFileSync(path.join(tmp, "model.onnx"), recalModelBytes({}));
    fs.writeFileSync(path.join(tmp, "data.npy"), recalData(24));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("writes <name>.recalibrated.onnx, prints before/after and output change, and the JSON report", () => {
    const model = path.join(tmp, "model.onnx");
    const before = fs.readFileSync(model);
    const json = path.join(tmp, "recal.json");
    const r = bnLens("recalibrate", model, "--data", path.join(tmp, "data.npy"), "--json", json);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Recalibrated 3 of 3 BatchNormalization layers/);
    assert.match(r.stdout, /converged: every recalibrated channel within \|z\| <= 0\.01 and variance ratio <= 1\.01/);
    assert.match(r.stdout, /Stale-statistics warnings \(mean-shift, variance-ratio\): \d+ before, 0 after/);
    assert.match(r.stdout, /y: mean \|change\| [\d.e-]+, relative L2 change [\d.]+%/);
    assert.match(r.stdout, new RegExp(`Wrote ${path.join(tmp, "model.recalibrated.onnx").replace(/[.]/g, "\\.")}`));
    assert.ok(fs.readFileSync(model).equals(before));
    const report = JSON.parse(fs.readFileSync(json, "utf8")) as RecalibrationJson;
    assert.equal(report.kind, "bn-lens-recalibration");
    assert.equal(report.layers.length, 3);
    assert.ok(report.layers.every((l) => l.after.worstZ! <= 0.01 && l.after.worstVarRatio! <= 1.01));
    assert.equal(report.after.model.path, path.join(tmp, "model.recalibrated.onnx"));

    assertCleanError(
      bnLens("recalibrate", model, "--data", path.join(tmp, "data.npy")),
      /already exists; choose another --out or pass --force/,
    );
    assert.equal(bnLens("recalibrate", model, "--data", path.join(tmp, "data.npy"), "--force").code, 0);
  });

  it("refuses bad usage with one sentence", () => {
    const model = path.join(tmp, "model.onnx");
    assertCleanError(bnLens("recalibrate", model), /recalibrate needs --data PATH/);
    assertCleanError(
      bnLens("recalibrate", model, "--data", path.join(tmp, "data.npy"), "--blend", "2"),
      /--blend takes a number in \(0, 1\]/,
    );
    assertCleanError(
      bnLens("recalibrate", model, "--data", path.join(tmp, "data.npy"), "--out", model),
      /must be a new file, not the model itself/,
    );
    assertCleanError(
      bnLens("recalibrate", model, "--data", path.join(tmp, "data.npy"), "--layers", "nope", "--out", path.join(tmp, "x.onnx")),
      /--layers "nope" matches no BatchNormalization layer/,
    );
  });
});
