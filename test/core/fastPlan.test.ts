/**
 * The fast capture's plan (src/core/inspect/fastPlan.ts): which tensor each layer is measured on, the nodes
 * that read it, and what comes back; the numbers themselves are checked in test/runtime/fastMode.test.ts.
 */
import * as assert from "node:assert/strict";
import type { BnLayer } from "../../src/core/graph/bnLayers";
import { planFastCapture } from "../../src/core/inspect/fastPlan";

function layer(index: number, input: string, output: string): BnLayer {
  const ones = Float64Array.from([1, 1]);
  return {
    index,
    node: undefined as never,
    name: `bn${index}`,
    input,
    output,
    channels: 2,
    epsilon: 1e-5,
    gamma: ones,
    beta: ones,
    runningMean: ones,
    runningVar: ones,
    producer: null,
    rank: 4,
    trainingMode: false,
  };
}

describe("fast capture plan", () => {
  // bn0 reads x0 and writes y0, which bn1 reads directly; bn2's maps are too small to sample.
  const layers = [layer(0, "x0", "y0"), layer(1, "y0", "y1"), layer(2, "x2", "y2")];
  const dims = [
    [1, 2, 60, 80],
    [1, 2, 60, 80],
    [1, 2, 8, 10],
  ];
  const taken = new Set(["x0", "y0", "y1", "x2", "y2"]);

  it("measures a layer on its output where asked, on its input elsewhere, with every added node reading that tensor", () => {
    const plan = planFastCapture(layers, dims, taken, (i) => i !== 1);
    assert.deepEqual(
      plan.layers.map((p) => [p.of, p.whole]),
      [
        ["output", false],
        ["input", false],
        ["output", true],
      ],
    );
    // bn0 on y0 and bn1 on its input, which is the same tensor y0: x0 has no reader, so BN can fold into its producer.
    const reads = new Set(plan.nodes.flatMap((n) => n.input));
    assert.deepEqual([...reads].sort(), ["y0"].concat(plan.nodes.filter((n) => n.opType === "Mul").map((n) => n.output[0])).sort());
    assert.ok(!reads.has("x0"));
    // A layer captured whole hands back its output itself; added names never reuse the model's.
    assert.equal(plan.layers[2].sample, "y2");
    assert.ok(plan.outputs.includes("y2"));
    for (const n of plan.nodes) assert.ok(!taken.has(n.output[0]));
    assert.equal(new Set(plan.outputs).size, plan.outputs.length);
    assert.deepEqual(plan.layers[0].strides, [5, 5]);
    assert.deepEqual(plan.layers[0].sampleDims, [2, 60, 80]);
  });

  it("tells the choice whether the layer is captured whole (whole layers sum their moments in float64, so need no centring)", () => {
    const asked: [number, boolean][] = [];
    const plan = planFastCapture(layers, dims, taken, (i, whole) => (asked.push([i, whole]), whole));
    assert.deepEqual(asked, [
      [0, false],
      [1, false],
      [2, true],
    ]);
    assert.deepEqual(
      plan.layers.map((p) => p.of),
      ["input", "input", "output"],
    );
    assert.equal(plan.layers[2].sample, "y2");
  });

  it("reads every layer's input when no layer may be measured on its output", () => {
    const plan = planFastCapture(layers, dims, taken);
    assert.ok(plan.layers.every((p) => p.of === "input"));
    assert.equal(plan.layers[2].sample, "x2");
    const reads = new Set(plan.nodes.flatMap((n) => n.input));
    assert.ok(reads.has("x0") && reads.has("y0"));
  });

  it("lists a tensor once when it is one layer's output and the next layer's input, both captured whole", () => {
    const small = [
      [1, 2, 8, 10],
      [1, 2, 8, 10],
      [1, 2, 8, 10],
    ];
    const plan = planFastCapture(layers, small, taken, (i) => i === 0);
    assert.deepEqual(plan.outputs, ["y0", "x2"]);
  });
});
