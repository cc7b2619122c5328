import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "onnx-buf";
import type { Report } from "../../src/core/report";
import type { ModelNodeData } from "../../src/core/share/modelExplorer";
import { bnLens } from "../helpers/cli";
import { FACE_DETECTOR, FACE_IMAGES } from "../helpers/paths";

/** Model Explorer's ONNX adapter ids, read here straight from the protobuf: graph name or "<main>", node name or "<node_i>". */
function adapterIds(modelPath: string): { graphId: string; ops: Map<string, string> } {
  const proto = fromBinary(ModelProtoSchema, fs.readFileSync(modelPath));
  const ops = new Map<string, string>();
  proto.graph!.node.forEach((n, i) => ops.set(n.name || `<node_${i}>`, n.opType));
  return { graphId: proto.graph!.name || "<main>", ops };
}

const SEVERITY = { info: 1, warning: 2, error: 3 } as const;

/** Checks the four files against Model Explorer's ModelNodeData format and against the report's per-channel numbers. */
function checkFiles(dir: string, modelPath: string, report: Report): Record<string, ModelNodeData[string]> {
  const { graphId, ops } = adapterIds(modelPath);
  const base = path.basename(modelPath).replace(/\.onnx$/, "");
  const byMeasure: Record<string, ModelNodeData[string]> = {};
  for (const measure of ["worst-abs-z", "worst-var-ratio", "flat-share", "severity"]) {
    const data = JSON.parse(fs.readFileSync(path.join(dir, `${base}.bn-lens.${measure}.json`), "utf8")) as ModelNodeData;
    assert.deepEqual(Object.keys(data), [graphId], "keyed by the graph id the ONNX adapter uses");
    const g = data[graphId];
    assert.equal(typeof g.name, "string");
    assert.ok(Object.keys(g.results).length > 0);
    for (const [id, r] of Object.entries(g.results)) {
      assert.equal(ops.get(id), "BatchNormalization", `${id} is a BN node of the model`);
      assert.deepEqual(Object.keys(r), ["value"]);
      assert.ok(Number.isFinite(r.value), `${measure} ${id}: ${r.value}`);
    }
    if (g.thresholds) {
      assert.ok(g.thresholds.length >= 2);
      for (let i = 1; i < g.thresholds.length; i++) assert.ok(g.thresholds[i].value > g.thresholds[i - 1].value, "thresholds ascend");
      for (const t of g.thresholds) assert.match(t.bgColor, /^#[0-9a-f]{6}$/);
    } else {
      const stops = g.gradient!.map((x) => x.stop);
      assert.equal(stops[0], 0);
      assert.equal(stops[stops.length - 1], 1);
    }
    byMeasure[measure] = g;
  }
  // The values, against the report's per-channel arrays (not its summary).
  const idOf = new Map<string, string>();
  const proto = fromBinary(ModelProtoSchema, fs.readFileSync(modelPath));
  proto.graph!.node.forEach((n, i) => idOf.set(n.name || `BatchNormalization_${i}`, n.name || `<node_${i}>`));
  for (const l of report.layers) {
    const id = [...ops.keys()].find((k) => k === l.node) ?? idOf.get(l.node);
    assert.ok(id, l.node);
    const absZ = Math.max(...l.compare.z.filter((z): z is number => z !== null).map(Math.abs));
    const ratio = Math.max(...l.compare.varRatio.filter((v): v is number => v !== null));
    assert.equal(byMeasure["worst-abs-z"].results[id].value, absZ);
    assert.equal(byMeasure["worst-var-ratio"].results[id].value, ratio);
    // Without a recognised nonlinearity after it a layer has no flat region, and no flat-share value.
    if (l.saturation.layerFraction === null) assert.equal(byMeasure["flat-share"].results[id], undefined);
    else {
      const flat = l.saturation.count.reduce((a, b) => a + b, 0) / l.post.count.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(byMeasure["flat-share"].results[id].value - flat) < 1e-12, `${l.node} flat share`);
    }
    assert.equal(byMeasure.severity.results[id].value, Math.max(0, ...l.warnings.map((w) => SEVERITY[w.severity])));
  }
  return byMeasure;
}

describe("bn-lens --model-explorer: node data files for Model Explorer", function () {
  this.timeout(240_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-me-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("the face detector (unnamed nodes, graph torch-jit-export): ids <node_i>, one file per measure", () => {
    const dir = path.join(tmp, "face");
    const json = path.join(tmp, "face.json");
    const r = bnLens(
      "inspect",
      FACE_DETECTOR,
      "--data",
      FACE_IMAGES,
      "--samples",
      "4",
      "--mean",
      "127",
      "--std",
      "128",
      "--json",
      json,
      "--model-explorer",
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Model Explorer node data written to .*version-RFB-320\.bn-lens\.worst-abs-z\.json/);
    const report = JSON.parse(fs.readFileSync(json, "utf8")) as Report;
    const g = checkFiles(dir, FACE_DETECTOR, report);
    assert.equal(Object.keys(g.severity.results).length, 35);
    assert.ok(Object.keys(g.severity.results).every((id) => /^<node_\d+>$/.test(id)));
  });

  it("the demo (named nodes): bn3 is the error, bn4 has no finding; merge writes the files too", () => {
    const r0 = bnLens("demo", "--out", tmp);
    assert.equal(r0.code, 0, r0.stderr);
    const model = path.join(tmp, "bn-lens-demo.onnx");
    const json = path.join(tmp, "demo.json");
    const dir = path.join(tmp, "demo");
    const r = bnLens("inspect", model, "--samples", "256", "--seed", "1", "--random-is-domain", "--json", json, "--model-explorer", dir);
    assert.equal(r.code, 0, r.stderr);
    const g = checkFiles(dir, model, JSON.parse(fs.readFileSync(json, "utf8")) as Report);
    assert.deepEqual(g.severity.results, { bn1: { value: 2 }, bn2: { value: 2 }, bn3: { value: 3 }, bn4: { value: 0 } });
    const merged = path.join(tmp, "merged");
    const m = bnLens("merge", json, "--json", path.join(tmp, "m.json"), "--model-explorer", merged);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(fs.readdirSync(merged).length, 4);
  });
});
