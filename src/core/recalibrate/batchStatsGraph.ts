/**
 * The one-batch solve: a measuring copy of the model (never saved) in which every recalibrated BN
 * normalises with the statistics of its own input over the batch it is given, computed in the graph.
 * Run on all the data as one batch, each BN then normalises with exactly the population statistics of
 * its input as the corrected upstream layers produce it: the fixed point recalibration looks for, in
 * one run, instead of one pass per level of BN depth.
 */
import { create } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  NodeProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  type NodeProto,
  type TensorProto,
} from "onnx-buf";
import type { BnLayer } from "../graph/bnLayers";
import type { OnnxModel } from "../onnx/model";

/** Nodes and outputs of the measuring copy. */
export interface BatchStatsPlan {
  nodes: NodeProto[];
  initializers: TensorProto[];
  /** Graph outputs holding each layer's batch mean and variance ([C] float32). */
  outputs: Map<string, { mean: string; var: string }>;
}

function ints(name: string, values: number[]) {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: values.map(BigInt) });
}

function int(name: string, value: number) {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(value) });
}

/**
 * Replaces each layer's BN node by ReduceMean/Sub/Mul/ReduceMean (mean and population variance of its
 * input over every axis but the channel axis) feeding an inference-mode BN with the same scale, bias and
 * epsilon. `blend` < 1 normalises with blend * batch + (1 - blend) * stored statistics instead.
 * `ranks` gives each BN input's rank (known after a first run).
 */
export function planBatchStatistics(
  model: OnnxModel,
  layers: readonly BnLayer[],
  ranks: ReadonlyMap<string, number>,
  blend: number,
  taken: Set<string>,
): BatchStatsPlan {
  const fresh = (base: string) => {
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const byNode = new Map(layers.map((l) => [l.node, l]));
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const outputs = new Map<string, { mean: string; var: string }>();
  const axesAsInput = model.opset >= 18;
  const floats = (name: string, values: ArrayLike<number>, dims: number[]) => {
    initializers.push(
      create(TensorProtoSchema, { name, dataType: TensorProto_DataType.FLOAT, dims: dims.map(BigInt), floatData: Array.from(values) }),
    );
    return name;
  };
  const axesInit = new Map<number, string>();
  const reduce = (input: string, output: string, rank: number, keep: boolean): NodeProto => {
    const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
    if (axesAsInput) {
      let a = axesInit.get(rank);
      if (!a) {
        a = fresh(`bnlens_axes_${rank}`);
        initializers.push(
          create(TensorProtoSchema, {
            name: a,
            dataType: TensorProto_DataType.INT64,
            dims: [BigInt(axes.length)],
            int64Data: axes.map(BigInt),
          }),
        );
        axesInit.set(rank, a);
      }
      return create(NodeProtoSchema, {
        opType: "ReduceMean",
        input: [input, a],
        output: [output],
        attribute: [int("keepdims", keep ? 1 : 0)],
      });
    }
    return create(NodeProtoSchema, {
      opType: "ReduceMean",
      input: [input],
      output: [output],
      attribute: [ints("axes", axes), int("keepdims", keep ? 1 : 0)],
    });
  };
  for (const node of model.graph.node) {
    const layer = byNode.get(node);
    if (!layer) {
      nodes.push(node);
      continue;
    }
    const rank = ranks.get(layer.name) ?? layer.rank ?? 4;
    const p = `bnlens_solve_${layer.index}`;
    const x = layer.input;
    const mKeep = fresh(`${p}_mean_keep`);
    const mean = fresh(`${p}_mean`);
    const d = fresh(`${p}_centered`);
    const d2 = fresh(`${p}_sq`);
    const v = fresh(`${p}_var`);
    nodes.push(reduce(x, mKeep, rank, true), reduce(x, mean, rank, false));
    nodes.push(create(NodeProtoSchema, { opType: "Sub", input: [x, mKeep], output: [d] }));
    nodes.push(create(NodeProtoSchema, { opType: "Mul", input: [d, d], output: [d2] }));
    nodes.push(reduce(d2, v, rank, false));
    let useMean = mean;
    let useVar = v;
    if (blend !== 1) {
      const mix = (stat: string, stored: Float64Array, what: string) => {
        const a = floats(fresh(`${p}_${what}_a`), [blend], []);
        const c = floats(
          fresh(`${p}_${what}_c`),
          Array.from(stored, (s) => (1 - blend) * s),
          [stored.length],
        );
        const scaled = fresh(`${p}_${what}_scaled`);
        const out = fresh(`${p}_${what}_blended`);
        nodes.push(create(NodeProtoSchema, { opType: "Mul", input: [stat, a], output: [scaled] }));
        nodes.push(create(NodeProtoSchema, { opType: "Add", input: [scaled, c], output: [out] }));
        return out;
      };
      useMean = mix(mean, layer.runningMean, "mean");
      useVar = mix(v, layer.runningVar, "var");
    }
    outputs.set(layer.name, { mean: useMean, var: useVar });
    // The original scale and bias; statistics computed in float32 feed the BN (its U type is float here).
    const attrs = node.attribute.filter((a) => a.name !== "training_mode");
    nodes.push(
      create(NodeProtoSchema, {
        opType: "BatchNormalization",
        name: node.name,
        domain: node.domain,
        input: [x, node.input[1], node.input[2], useMean, useVar],
        output: [node.output[0]],
        attribute: attrs,
      }),
    );
  }
  return { nodes, initializers, outputs };
}
