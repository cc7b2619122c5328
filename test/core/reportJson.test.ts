// The report's JSON layout: the same values as JSON.stringify (checked by parsing back), far fewer lines and
// bytes; the layer-only variant drops exactly the per-channel histograms, and merge refuses it by name.
import * as assert from "node:assert/strict";
import { checkMergeable, compactJson, hasPerChannelHistograms, reportJson, withLayerHistograms } from "../../src/core/inspect/reportJson";
import { syntheticReport } from "../webview/synthetic";
import { throwsUser } from "../helpers/userError";

describe("report JSON layout", () => {
  const report = syntheticReport({ layers: 12, valuesPerChannel: 500 });

  it("writes the same JSON values as JSON.stringify, arrays of numbers on one line", () => {
    const text = compactJson(report);
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(report)));
    const indented = JSON.stringify(report, null, 1);
    const lines = text.split("\n").length;
    assert.ok(lines * 5 < indented.split("\n").length, `${lines} lines vs ${indented.split("\n").length}`);
    assert.ok(text.length < indented.length, `${text.length} vs ${indented.length} bytes`);
    // Small cases by hand: nesting is indented, flat arrays stay inline, undefined fields are dropped like JSON.stringify does.
    assert.equal(
      compactJson({ a: [1, 2, null], b: { c: "x", d: undefined }, e: [[1], []], f: [] }),
      '{\n "a": [1,2,null],\n "b": {\n  "c": "x"\n },\n "e": [\n  [1],\n  []\n ],\n "f": []\n}',
    );
  });

  it("leaves out only the per-channel histograms with histograms: layer, and merge refuses such a report", () => {
    assert.equal(hasPerChannelHistograms(report), true);
    const slim = withLayerHistograms(report);
    assert.equal(hasPerChannelHistograms(slim), false);
    for (const [a, b] of slim.layers.map((l, i) => [l, report.layers[i]] as const)) {
      assert.deepEqual(a.pre.histogram.total, b.pre.histogram.total);
      assert.deepEqual(a.post.histogram.perChannel, []);
      assert.deepEqual({ ...a, pre: undefined, post: undefined }, { ...b, pre: undefined, post: undefined });
    }
    assert.deepEqual(JSON.parse(reportJson(report, { histograms: "layer" })), JSON.parse(JSON.stringify(slim)));
    checkMergeable(report, "full.json");
    throwsUser(
      () => checkMergeable(slim, "slim.json"),
      "slim.json was written with --histograms layer, without the per-channel histograms merge needs to recount saturation; write it again with --histograms per-channel (the default).",
    );
  });
});
