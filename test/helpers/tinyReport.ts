// Small inspection reports built from values a test spells out, through the real statistics and report code
// (ChannelStats, bnLayerReport, probeReport), so comparison tests can compute every drift value by hand.
import { bnLayerReport, probeReport, toFlatIntervals } from "../../src/core/inspect/inspection";
import { REPORT_SCHEMA_VERSION, type ActivationJson, type Report } from "../../src/core/report";
import { ChannelStats } from "../../src/core/stats/accumulator";
import { histogramScheme } from "../../src/core/stats/histogram";
import { DEFAULT_THRESHOLDS } from "../../src/core/stats/judge";

const RELU: ActivationJson = {
  op: "Relu",
  description: "ReLU",
  nodes: [],
  consumers: [],
  flatRegion: { intervals: [[null, 0]], description: "x ≤ 0", slopeFraction: 0.02 },
};
const NONE: ActivationJson = {
  op: "none",
  description: "no nonlinearity",
  nodes: [],
  consumers: [],
  flatRegion: { intervals: [], description: "none", slopeFraction: 0.02 },
};

/** `value` repeated `times` times. */
export function rep(value: number, times: number): number[] {
  return new Array<number>(times).fill(value);
}

/** One layer: the pre-BN values of each channel (all channels the same length) and what follows. */
export interface TinyLayer {
  channels: number[][];
  relu?: boolean;
}

/**
 * A report whose BN layers have gamma 1, beta 0, running mean 0, running var 1 and epsilon 0, so post-BN
 * values equal pre-BN ones; with `fused`, the same values as Conv outputs of a model without BN.
 */
export function tinyReport(layers: TinyLayer[], o: { sha256?: string; fused?: boolean; description?: string } = {}): Report {
  const t = DEFAULT_THRESHOLDS;
  const bn: Report["layers"] = [];
  const probes: Report["activations"] = [];
  layers.forEach((spec, i) => {
    const C = spec.channels.length;
    const n = spec.channels[0].length;
    const values = new Float32Array(C * n);
    spec.channels.forEach((vs, c) => values.set(vs, c * n));
    const act = spec.relu ? RELU : NONE;
    const slots = act.flatRegion.intervals.length;
    const flat = [toFlatIntervals(act.flatRegion.intervals)];
    const dims = [1, C, n];
    if (o.fused) {
      const stats = new ChannelStats(C, slots);
      stats.add(values, dims, 1, flat);
      probes.push(probeReport({ index: i, name: `conv${i}`, op: "Conv", output: `conv${i}_out` }, act, stats, 1, t));
      return;
    }
    const pre = new ChannelStats(C);
    pre.add(values, dims, 1);
    const post = new ChannelStats(C, slots);
    post.add(values, dims, 1, flat);
    bn.push(
      bnLayerReport(
        {
          index: i,
          name: `bn${i}`,
          input: `x${i}`,
          output: `y${i}`,
          channels: C,
          epsilon: 0,
          gamma: new Float64Array(C).fill(1),
          beta: new Float64Array(C),
          runningMean: new Float64Array(C),
          runningVar: new Float64Array(C).fill(1),
          producer: { op: "Conv", node: `conv${i}` },
          trainingMode: false,
        },
        act,
        pre,
        post,
        3,
        t,
      ),
    );
  });
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    id: (o.sha256 ?? "0".repeat(64)).slice(0, 32),
    generator: { name: "bn-lens", version: "test", onnxruntime: "none" },
    createdAt: new Date(0).toISOString(),
    model: {
      path: "/tiny.onnx",
      name: "tiny.onnx",
      sizeBytes: 1,
      sha256: o.sha256 ?? "a".repeat(64),
      producer: "test",
      irVersion: 8,
      opset: 17,
      nodeCount: layers.length * 2,
      inputs: [],
      outputs: ["y"],
      bnCount: bn.length,
      fusedAway: bn.length === 0,
      statement: "test",
      notes: [],
    },
    data: { kind: "test", synthetic: false, description: o.description ?? "hand-made values", sources: [] },
    samples: 1,
    run: {
      batchSize: 1,
      seed: 0,
      elapsedMs: 0,
      runs: 1,
      shards: [],
      trainBatch: null,
      precision: { mode: "exact", description: "test", histogramSampling: 1 },
    },
    thresholds: t,
    histogram: histogramScheme(),
    layers: bn,
    activations: probes,
    batchStudy: null,
    warnings: [],
    summary: { layers: layers.length, channels: 0, warnings: { error: 0, warning: 0, info: 0 } },
  };
}
