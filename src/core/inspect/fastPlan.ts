import { create } from "@bufbuild/protobuf";
import { AttributeProtoSchema, AttributeProto_AttributeType, NodeProtoSchema, type NodeProto } from "onnx-buf";
import type { BnLayer } from "../graph/bnLayers";

/**
 * The fast capture: instead of every pre-BN value, onnxruntime hands back a systematic spatial sample
 * (every s-th position along each spatial axis, taken by a MaxPool with a 1-wide kernel, which copies
 * values exactly) plus, per sample and channel, reductions over every value: maximum and minimum
 * (GlobalMaxPool of x and of -x), mean (GlobalAveragePool) and root sum of squares (GlobalLpPool).
 * Histograms and saturation come from the sample; moments and extremes from every value. Post-BN values
 * follow from pre-BN ones through the layer's own affine map.
 * Layers without spatial axes, or with small ones, are captured whole.
 */
export interface FastLayerPlan {
  /** Index into the inspection's BN layers. */
  layer: number;
  /** Tensor to fetch: the sampled (or whole) pre-BN values. */
  sample: string;
  /** Stride along each spatial axis (all 1 when the layer is captured whole). */
  strides: number[];
  /** Fraction of positions that enter the statistics (1 when whole). */
  fraction: number;
  /** Per-sample, per-channel max of x and of -x, shaped [N, C, 1, ...]; absent when captured whole. */
  max?: string;
  negMin?: string;
  /**
   * Per-sample, per-channel mean of x: not used as a statistic, but a sum propagates NaN and infinity
   * wherever they occur, so a non-finite mean tells that the batch must be measured exactly.
   */
  mean?: string;
  /** Per-sample, per-channel sqrt(sum of x^2) (GlobalLpPool, p = 2): with the mean it gives each map's variance. */
  l2?: string;
}

/** The nodes and outputs to add for a fast run, and what to read back per layer. */
export interface FastPlan {
  nodes: NodeProto[];
  outputs: string[];
  layers: FastLayerPlan[];
}

function ints(name: string, values: number[]) {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: values.map(BigInt) });
}

/** Stride for one spatial axis of length d: aim at 1/4 along each axis of large maps, never fewer than 8 positions. */
export function strideFor(d: number, spatialRank: number): number {
  const s = spatialRank === 1 ? (d >= 256 ? 16 : d >= 64 ? 4 : 1) : spatialRank === 2 ? (d >= 32 ? 4 : d >= 16 ? 2 : 1) : d >= 16 ? 2 : 1;
  return Math.max(1, Math.min(s, Math.floor(d / 8) || 1));
}

/**
 * Plans the fast capture from the dims each BN input had on the first (exact) batch.
 * `taken` holds every tensor name of the model so added names never collide.
 */
export function planFastCapture(layers: readonly BnLayer[], dims: readonly (readonly number[])[], taken: ReadonlySet<string>): FastPlan {
  const nodes: NodeProto[] = [];
  const outputs: string[] = [];
  const plans: FastLayerPlan[] = [];
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    return name;
  };
  layers.forEach((layer, i) => {
    const d = dims[i];
    const spatial = d.slice(2);
    const strides = spatial.map((n) => strideFor(n, spatial.length));
    if (spatial.length === 0 || strides.every((s) => s === 1)) {
      outputs.push(layer.input);
      plans.push({ layer: i, sample: layer.input, strides: spatial.map(() => 1), fraction: 1 });
      return;
    }
    const kernel = spatial.map(() => 1);
    const sample = fresh(`bnlens_sample_${i}`);
    const max = fresh(`bnlens_max_${i}`);
    const neg = fresh(`bnlens_neg_${i}`);
    const negMin = fresh(`bnlens_negmax_${i}`);
    const mean = fresh(`bnlens_mean_${i}`);
    const l2 = fresh(`bnlens_l2_${i}`);
    nodes.push(
      create(NodeProtoSchema, { opType: "MaxPool", name: sample, input: [layer.input], output: [sample], attribute: [ints("kernel_shape", kernel), ints("strides", strides)] }),
      create(NodeProtoSchema, { opType: "GlobalMaxPool", name: max, input: [layer.input], output: [max] }),
      create(NodeProtoSchema, { opType: "Neg", name: neg, input: [layer.input], output: [neg] }),
      create(NodeProtoSchema, { opType: "GlobalMaxPool", name: negMin, input: [neg], output: [negMin] }),
      create(NodeProtoSchema, { opType: "GlobalAveragePool", name: mean, input: [layer.input], output: [mean] }),
      create(NodeProtoSchema, { opType: "GlobalLpPool", name: l2, input: [layer.input], output: [l2] }),
    );
    outputs.push(sample, max, negMin, mean, l2);
    let kept = 1;
    spatial.forEach((n, k) => (kept *= Math.floor((n - 1) / strides[k]) + 1));
    plans.push({ layer: i, sample, strides, fraction: kept / spatial.reduce((a, b) => a * b, 1), max, negMin, mean, l2 });
  });
  return { nodes, outputs, layers: plans };
}
