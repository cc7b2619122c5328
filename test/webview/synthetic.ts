// Synthetic BN Lens reports of any size for the panel's tests and benchmark, built by the real core code:
// seeded pre-BN values per channel go through the exact BN equation, and ChannelStats, the judge and
// bnLayerReport/probeReport turn them into report entries, so warnings and summaries are the engine's own.
import { histogramScheme } from "../../src/core/stats/histogram";
import { ChannelStats } from "../../src/core/stats/accumulator";
import { DEFAULT_THRESHOLDS } from "../../src/core/stats/judge";
import { bnLayerReport, modelStatement, probeReport, toFlatIntervals } from "../../src/core/inspect/inspection";
import {
  REPORT_SCHEMA_VERSION,
  type ActivationJson,
  type ActivationLayerReport,
  type IntervalJson,
  type LayerReport,
  type Report,
} from "../../src/core/report";

const ACTIVATIONS: Record<"Relu" | "Sigmoid" | "none", ActivationJson> = {
  Relu: {
    op: "Relu",
    description: "ReLU",
    nodes: [],
    consumers: [],
    flatRegion: { intervals: [[null, 0]], description: "x ≤ 0", slopeFraction: 0.02 },
  },
  Sigmoid: {
    op: "Sigmoid",
    description: "Sigmoid",
    nodes: [],
    consumers: [],
    flatRegion: {
      intervals: [
        [null, -5.288241522117258],
        [5.288241522117258, null],
      ],
      description: "|x| ≥ 5.288",
      slopeFraction: 0.02,
    },
  },
  none: {
    op: "none",
    description: "no nonlinearity",
    nodes: [],
    consumers: [],
    flatRegion: { intervals: [], description: "none", slopeFraction: 0.02 },
  },
};

/** xorshift32: deterministic, tiny. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return { u, normal };
}

export interface SyntheticOptions {
  layers: number;
  /** Values per channel and tensor. */
  valuesPerChannel?: number;
  seed?: number;
  /** Report BN fused away: activation layers (Conv outputs) instead of BN layers. */
  fused?: boolean;
}

/**
 * A report with `layers` layers and planted problems: every 7th layer has stale running statistics,
 * every 11th a dead channel, every 13th is followed by a saturated sigmoid.
 */
export function syntheticReport(o: SyntheticOptions): Report {
  const n = o.valuesPerChannel ?? 256;
  const r = rng(o.seed ?? 7);
  const t = DEFAULT_THRESHOLDS;
  const layers: LayerReport[] = [];
  const activations: ActivationLayerReport[] = [];
  for (let i = 0; i < o.layers; i++) {
    const C = [16, 32, 64, 128][i % 4];
    const act = ACTIVATIONS[i % 13 === 5 ? "Sigmoid" : i % 5 === 4 ? "none" : "Relu"];
    const intervals: IntervalJson[] = act.flatRegion.intervals;
    const flat = [toFlatIntervals(intervals)];
    const slots = intervals.length;
    const gamma = new Float64Array(C);
    const beta = new Float64Array(C);
    const runningMean = new Float64Array(C);
    const runningVar = new Float64Array(C);
    const pre = new Float32Array(C * n);
    const post = new Float32Array(C * n);
    const stale = i % 7 === 3;
    const eps = 1e-5;
    for (let c = 0; c < C; c++) {
      const mu = r.normal() * 2;
      const sd = 0.5 + r.u() * 3;
      runningMean[c] = stale && c % 2 === 0 ? mu + sd * (1.5 + r.u() * 2) : mu + sd * 0.05 * r.normal();
      runningVar[c] = stale && c % 2 === 1 ? sd * sd * (4 + r.u() * 8) : sd * sd * (1 + 0.05 * r.normal());
      gamma[c] = i % 11 === 2 && c === 1 ? 0 : act.op === "Sigmoid" && i % 13 === 5 ? 4 + r.u() * 3 : 0.5 + r.u();
      beta[c] = r.normal() * 0.3;
      const inv = 1 / Math.sqrt(runningVar[c] + eps);
      for (let k = 0; k < n; k++) {
        const x = mu + sd * r.normal();
        pre[c * n + k] = x;
        post[c * n + k] = gamma[c] * (x - runningMean[c]) * inv + beta[c];
      }
    }
    const dims = [1, C, n];
    if (o.fused) {
      const stats = new ChannelStats(C, slots);
      stats.add(post, dims, 1, flat);
      activations.push(probeReport({ index: i, name: `conv_${i}`, op: "Conv", output: `conv_${i}_out` }, act, stats, 1, t));
      continue;
    }
    const preStats = new ChannelStats(C);
    preStats.add(pre, dims, 1);
    const postStats = new ChannelStats(C, slots);
    postStats.add(post, dims, 1, flat);
    layers.push(
      bnLayerReport(
        {
          index: i,
          name: `stage${Math.floor(i / 10)}/block${i % 10}/bn`,
          input: `conv_${i}_out`,
          output: `bn_${i}_out`,
          channels: C,
          epsilon: eps,
          gamma,
          beta,
          runningMean,
          runningVar,
          producer: { op: "Conv", node: `conv_${i}` },
          trainingMode: false,
        },
        act,
        preStats,
        postStats,
        3,
        t,
      ),
    );
  }
  const { statement, warnings } = modelStatement(layers, activations.length);
  const summaryOf = (ls: readonly { warnings: Report["warnings"]; channels: number }[]) => {
    const w = { error: 0, warning: 0, info: 0 };
    let channels = 0;
    for (const l of ls) {
      channels += l.channels;
      for (const x of l.warnings) w[x.severity]++;
    }
    for (const x of warnings) w[x.severity]++;
    return { layers: ls.length, channels, warnings: w };
  };
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    id: "5e" + String(o.layers).padStart(30, "0"),
    generator: { name: "bn-lens", version: "synthetic", onnxruntime: "none" },
    createdAt: new Date(0).toISOString(),
    model: {
      path: `/synthetic/${o.fused ? "fused" : "bn"}-${o.layers}.onnx`,
      name: `synthetic-${o.layers}${o.fused ? "-fused" : ""}.onnx`,
      sizeBytes: 1000 * o.layers,
      sha256: "0".repeat(64),
      producer: "synthetic",
      irVersion: 8,
      opset: 17,
      nodeCount: 3 * o.layers,
      inputs: [{ name: "x", dtype: "float32", declared: [1, 3, 32, 32], fed: [3, 32, 32] }],
      outputs: ["y"],
      bnCount: layers.length,
      fusedAway: layers.length === 0,
      statement,
      notes: [],
    },
    data: { kind: "npy", synthetic: false, description: `${n} synthetic values per channel`, sources: [] },
    samples: 1,
    run: {
      batchSize: 1,
      seed: o.seed ?? 7,
      elapsedMs: 0,
      runs: 1,
      shards: ["5e" + String(o.layers).padStart(30, "0")],
      precision: { mode: "exact", description: "synthetic", histogramSampling: 1 },
      trainBatch: null,
    },
    thresholds: t,
    histogram: histogramScheme(),
    layers,
    activations,
    warnings,
    batchStudy: null,
    summary: summaryOf(layers.length ? layers : activations),
  };
}
