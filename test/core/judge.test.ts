import * as assert from "node:assert/strict";
import type { ActivationJson } from "../../src/core/report";
import { ChannelStats } from "../../src/core/stats/accumulator";
import { DEFAULT_THRESHOLDS, judgeLayer, saturationKind, withDefaults } from "../../src/core/stats/judge";

const relu: ActivationJson = {
  op: "Relu",
  description: "ReLU",
  nodes: ["r"],
  consumers: [],
  flatRegion: { intervals: [[null, 0]], description: "x ≤ 0", slopeFraction: 0.02 },
};
const sigmoid: ActivationJson = {
  op: "Sigmoid",
  description: "Sigmoid",
  nodes: ["s"],
  consumers: [],
  flatRegion: {
    intervals: [
      [null, -5.288],
      [5.288, null],
    ],
    description: "|x| ≥ 5.288",
    slopeFraction: 0.02,
  },
};
const none: ActivationJson = {
  op: "none",
  description: "none",
  nodes: [],
  consumers: ["Add"],
  flatRegion: { intervals: [], description: "none", slopeFraction: 0.02 },
};

/** Channel c's values: exactly `count` points with the given mean and population variance (±spread pairs). */
function channelValues(mean: number, variance: number, count = 200): number[] {
  const d = Math.sqrt(variance);
  return Array.from({ length: count }, (_, i) => mean + (i % 2 ? d : -d));
}

function stats(perChannel: number[][], flat?: ActivationJson): ChannelStats {
  const C = perChannel.length;
  const S = perChannel[0].length;
  const data = new Float32Array(C * S);
  perChannel.forEach((v, c) => data.set(v, c * S));
  const ivs = flat?.flatRegion.intervals ?? [];
  const s = new ChannelStats(C, ivs.length);
  s.add(
    data,
    [1, C, S],
    1,
    flat ? [{ lo: Float64Array.from(ivs, (i) => i[0] ?? -Infinity), hi: Float64Array.from(ivs, (i) => i[1] ?? Infinity) }] : undefined,
  );
  return s;
}

function bn(C: number, over: Partial<Record<"gamma" | "beta" | "runningMean" | "runningVar", number[]>> = {}) {
  const fill = (v: number) => new Float64Array(C).fill(v);
  return {
    gamma: over.gamma ? Float64Array.from(over.gamma) : fill(1),
    beta: over.beta ? Float64Array.from(over.beta) : fill(0),
    runningMean: over.runningMean ? Float64Array.from(over.runningMean) : fill(0),
    runningVar: over.runningVar ? Float64Array.from(over.runningVar) : fill(1),
    epsilon: 0,
    trainingMode: false,
  };
}

describe("rule list", () => {
  it("computes z and the variance ratio by their definitions and flags stale statistics", () => {
    // Running mean 0, var 1; channel 0 fits, channel 1 is 1.5 std off (warning), channel 2 is 4 std off (error),
    // channel 3 has 16x the variance (error), channel 4 a quarter of it (ratio 4: warning).
    const pre = stats([channelValues(0, 1), channelValues(1.5, 1), channelValues(-4, 1), channelValues(0, 16), channelValues(0, 0.25)]);
    const post = stats(
      [channelValues(0, 1), channelValues(1.5, 1), channelValues(-4, 1), channelValues(0, 16), channelValues(0, 0.25)],
      relu,
    );
    const j = judgeLayer(
      { layer: "bn", activation: relu, intervals: () => relu.flatRegion.intervals, pre, post, bn: bn(5) },
      DEFAULT_THRESHOLDS,
    );
    const z = j.compare!.z.map((v) => Number(v!.toFixed(6)));
    assert.deepEqual(z, [0, 1.5, -4, 0, 0]);
    const r = j.compare!.varRatio.map((v) => Number(v!.toFixed(6)));
    assert.deepEqual(r, [1, 1, 1, 16, 4]);
    const shift = j.warnings.find((w) => w.rule === "mean-shift")!;
    assert.equal(shift.severity, "error");
    assert.deepEqual(shift.channels, [2, 1]);
    assert.equal(shift.channel, 2);
    assert.match(shift.message, /2 of 5 channels/);
    assert.match(shift.message, /worst channel 2: z = -4/);
    const ratio = j.warnings.find((w) => w.rule === "variance-ratio")!;
    assert.equal(ratio.severity, "error");
    assert.deepEqual(ratio.channels, [3, 4]);
    assert.deepEqual(j.summary.exceed["mean-shift"], { warning: 2, error: 1 });
    assert.deepEqual(j.summary.exceed["variance-ratio"], { warning: 2, error: 1 });
    assert.deepEqual(j.summary.worstZ, { channel: 2, value: -4 });
    assert.equal(j.summary.severity, "error");
  });

  it("uses configurable thresholds", () => {
    const pre = stats([channelValues(1.5, 1)]);
    const post = stats([channelValues(1.5, 1)], relu);
    const t = withDefaults({ meanShift: { warning: 2, error: 5 } });
    const j = judgeLayer({ layer: "bn", activation: relu, intervals: () => relu.flatRegion.intervals, pre, post, bn: bn(1) }, t);
    assert.equal(
      j.warnings.find((w) => w.rule === "mean-shift"),
      undefined,
    );
  });

  it("flags dead channels: gamma 0, running var 0, never outside the flat region", () => {
    const pre = stats([channelValues(0, 1), channelValues(0, 1), channelValues(0, 1), channelValues(0, 1)]);
    // Channel 3's post-BN values are all negative: ReLU never passes them.
    const post = stats([channelValues(0.5, 0.01), channelValues(1, 1), channelValues(1, 1), channelValues(-3, 1)], relu);
    const j = judgeLayer(
      {
        layer: "bn",
        activation: relu,
        intervals: () => relu.flatRegion.intervals,
        pre,
        post,
        bn: bn(4, { gamma: [0, 1, 1, 1], runningVar: [1, 0, 1, 1] }),
      },
      DEFAULT_THRESHOLDS,
    );
    assert.deepEqual(j.summary.deadChannels, [0, 1, 3]);
    const dead = j.warnings.find((w) => w.rule === "dead-channel")!;
    assert.match(dead.message, /0 \(gamma 0\); 1 \(running var 0\); 3 \(never outside the flat region\)/);
    // z and r of parameter-dead channels are not judged (running var 0 makes z meaningless).
    assert.equal(j.warnings.find((w) => w.rule === "variance-ratio")?.channels?.includes(1), undefined);
  });

  it("tells a stuck sigmoid from a normally half-off ReLU", () => {
    // Half the values at -8 and half at +8: all in the sigmoid's flat region; for ReLU half are "off".
    const v = Array.from({ length: 100 }, (_, i) => (i % 2 ? 8 : -8));
    const s = judgeLayer(
      { layer: "bn", activation: sigmoid, intervals: () => sigmoid.flatRegion.intervals, post: stats([v], sigmoid) },
      DEFAULT_THRESHOLDS,
    );
    const sat = s.warnings.find((w) => w.rule === "saturation")!;
    assert.equal(sat.severity, "error");
    // No BN parameters in this input, so the message speaks of the layer (as for a fused-BN model).
    assert.match(sat.message, /Sigmoid after this layer is saturated in 1 of 1 channel: 25% or more .* worst channel 0: 100%/);
    assert.equal(s.saturation.fraction[0], 1);
    assert.equal(saturationKind(sigmoid), "saturating");
    const r = judgeLayer(
      { layer: "bn", activation: relu, intervals: () => relu.flatRegion.intervals, post: stats([v], relu) },
      DEFAULT_THRESHOLDS,
    );
    assert.equal(saturationKind(relu), "rectifier");
    assert.equal(r.saturation.fraction[0], 0.5);
    assert.deepEqual(
      r.warnings.map((w) => w.rule),
      [],
    );
  });

  it("warns about non-finite values and too few values, and says nothing about saturation without a nonlinearity", () => {
    const data = Float32Array.from([1, 2, NaN, 3]);
    const post = new ChannelStats(1);
    post.add(data, [4, 1], 1);
    const j = judgeLayer({ layer: "bn", activation: none, intervals: () => [], post }, DEFAULT_THRESHOLDS);
    assert.deepEqual(
      j.warnings.map((w) => [w.rule, w.severity]),
      [
        ["non-finite", "error"],
        ["low-count", "info"],
      ],
    );
    assert.match(j.warnings[0].message, /post-BN: 1 NaN, 0 \+Inf, 0 -Inf/);
    assert.equal(j.saturation.kind, "none");
    assert.equal(j.saturation.layerFraction, null);
  });
});
