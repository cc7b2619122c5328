import { create } from "@bufbuild/protobuf";
import { AttributeProtoSchema, AttributeProto_AttributeType, NodeProtoSchema, type NodeProto } from "onnx-buf";
import type { BnLayer } from "../graph/bnLayers";

/**
 * The fast capture. Per BN layer, onnxruntime computes inside the graph, per sample and channel, over
 * every value of one of the layer's tensors, the mean (GlobalAveragePool) and the mean of squares
 * (GlobalAveragePool of t·t); and it hands back a systematic spatial sample of t (every s-th position along
 * each spatial axis, taken by a MaxPool with a 1-wide kernel, which copies values exactly). Mean and
 * variance therefore cover every value, while histograms, saturation, minimum and maximum come from the
 * sample. Layers without spatial axes or with tiny feature maps are captured whole.
 *
 * t is the BN output y wherever the layer's inverse map is well-conditioned (derivedPre.ts): the input's
 * moments and sample then follow from y's through that map, and the BN input keeps a single consumer, so
 * onnxruntime still folds BN into the Conv before it. Elsewhere t is the BN input x, and the output's values
 * follow from x through the layer's own affine map.
 *
 * Measured on the face detector (benchmark): the in-graph minimum (ReduceMin, or Neg + GlobalMaxPool)
 * alone cost as much as a third of plain inference, so extremes are not computed over every value here.
 */
export interface FastLayerPlan {
  /** Index into the inspection's BN layers. */
  layer: number;
  /** Which of the layer's tensors the sample and moments are of: the BN input x or the BN output y. */
  of: "input" | "output";
  /** Tensor to fetch: the sampled values, or the whole tensor when `whole`. */
  sample: string;
  whole: boolean;
  /** Stride along each spatial axis of the sample. */
  strides: number[];
  /** Outputs shaped [N, C, 1, ...]; absent when whole. */
  mean?: string;
  meanSquare?: string;
  /**
   * Dims of the tensor after the batch dim (BN keeps its input's shape), from the batch measured exactly. Every batch of a run has them (inputs keep
   * their sample dims), so no Shape node is needed: on onnxruntime's blocked (NCHWc) layout a Shape of x makes
   * it convert the whole tensor back to NCHW, about as costly as the reductions themselves.
   */
  sampleDims?: number[];
}

/** The nodes and outputs to add for a fast run, and what to read back per layer. */
export interface FastPlan {
  nodes: NodeProto[];
  outputs: string[];
  layers: FastLayerPlan[];
}

/**
 * Sampling stride along one spatial axis of length d, for maps with `spatialRank` axes. Strides are odd:
 * convolutional feature maps often repeat with period 2 or 4 (strided convolutions), and an even stride
 * would see only one phase of that pattern, biasing histograms and saturation; an odd stride cycles
 * through every phase. Axes of 20 or more take stride 3 and larger strides keep at least 8 positions: on 2-d
 * maps the stride is 5, 3 or 1 per axis (one position in 25 on large maps); 1-d axes go up to stride 15,
 * 3-d axes up to 3.
 */
export function strideFor(d: number, spatialRank: number): number {
  const max = spatialRank === 1 ? 15 : spatialRank === 2 ? 5 : 3;
  // Stride 3 from 20 positions on: late feature maps (15x20 in the face detector) are many channels on
  // few positions, and measuring them whole cost fast mode about a third of plain inference in statistics.
  let s = max >= 3 && d >= 20 ? 3 : 1;
  // Larger strides keep at least 8 positions along the axis.
  while (s + 2 <= max && d / (s + 2) >= 8) s += 2;
  return s;
}

function ints(name: string, values: number[]) {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: values.map(BigInt) });
}

/**
 * Plans the fast capture from the dims each BN input had on a first batch measured exactly.
 * `taken` holds every tensor name of the model so added names never collide; `fromOutput(i, whole)` says
 * whether layer i, captured whole or sampled, is measured on its output rather than its input.
 */
export function planFastCapture(
  layers: readonly BnLayer[],
  dims: readonly (readonly number[])[],
  taken: ReadonlySet<string>,
  fromOutput: (layer: number, whole: boolean) => boolean = () => false,
): FastPlan {
  const nodes: NodeProto[] = [];
  const outputs: string[] = [];
  const plans: FastLayerPlan[] = [];
  const used = new Set(taken);
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
  layers.forEach((layer, i) => {
    const spatial = dims[i].slice(2);
    const rank = spatial.length;
    const strides = spatial.map((d) => strideFor(d, rank));
    const whole = rank < 1 || rank > 3 || strides.every((s) => s === 1);
    const of = fromOutput(i, whole) ? "output" : "input";
    const x = of === "output" ? layer.output : layer.input;
    if (whole) {
      outputs.push(x);
      plans.push({ layer: i, of, sample: x, whole: true, strides: spatial.map(() => 1) });
      return;
    }
    const [sample, mean, square, meanSquare] = ["sample", "mean", "square", "meansq"].map((what) => fresh(`bnlens_${what}_${i}`));
    nodes.push(
      create(NodeProtoSchema, {
        opType: "MaxPool",
        name: sample,
        input: [x],
        output: [sample],
        attribute: [
          ints(
            "kernel_shape",
            strides.map(() => 1),
          ),
          ints("strides", strides),
        ],
      }),
      create(NodeProtoSchema, { opType: "GlobalAveragePool", name: mean, input: [x], output: [mean] }),
      create(NodeProtoSchema, { opType: "Mul", name: square, input: [x, x], output: [square] }),
      create(NodeProtoSchema, { opType: "GlobalAveragePool", name: meanSquare, input: [square], output: [meanSquare] }),
    );
    outputs.push(sample, mean, meanSquare);
    plans.push({ layer: i, of, sample, whole: false, strides, mean, meanSquare, sampleDims: dims[i].slice(1) });
  });
  // One tensor may be both a layer's output and the next layer's input.
  return { nodes, outputs: [...new Set(outputs)], layers: plans };
}
