import type { ActivationJson, LayerReport, Report } from "../report";
import type { OnnxModel } from "../onnx/model";
import { modelStatement, type ActivationFinder } from "./inspection";
import { findActivationProbes, findBnLayers } from "../graph/bnLayers";
import type { ExternalReader } from "../onnx/tensorData";
import { storedDead, withDefaults } from "../stats/judge";
import type { Thresholds } from "../report";

/** A BN layer as stored in the model, before any data is run. */
export type StoredLayer = Pick<
  LayerReport,
  "index" | "node" | "input" | "output" | "channels" | "epsilon" | "producer" | "gamma" | "beta" | "running"
> & {
  activation: ActivationJson;
  /** Channels dead from the stored values alone (|gamma| or running variance at or below the thresholds); data may add more. */
  deadChannels: number[];
};

/** What opening a model shows at once, without running it. */
export interface ModelOverview {
  model: Pick<
    Report["model"],
    "path" | "name" | "sizeBytes" | "producer" | "irVersion" | "opset" | "nodeCount" | "outputs" | "bnCount" | "fusedAway" | "statement"
  > & {
    inputs: { name: string; dtype: string; dims: (number | string | null)[] | null }[];
  };
  layers: StoredLayer[];
  /** Conv/Gemm/MatMul outputs that would be observed when BN was fused away. */
  probes: { node: string; op: string; output: string; activation: string }[];
}

/** Reads the stored BN parameters and what follows each BN. */
export function modelOverview(
  model: OnnxModel,
  file: { path: string; name: string; sizeBytes: number },
  findActivation: ActivationFinder,
  readExternal?: ExternalReader,
  partialThresholds: Partial<Thresholds> = {},
): ModelOverview {
  const thresholds = withDefaults(partialThresholds);
  const slopeFraction = thresholds.slopeFraction;
  const layers: StoredLayer[] = findBnLayers(model, readExternal).map((l) => ({
    index: l.index,
    node: l.name,
    input: l.input,
    output: l.output,
    channels: l.channels,
    epsilon: l.epsilon,
    producer: l.producer,
    gamma: Array.from(l.gamma),
    beta: Array.from(l.beta),
    running: { mean: Array.from(l.runningMean), var: Array.from(l.runningVar) },
    activation: findActivation(model, l.output, slopeFraction),
    deadChannels: Array.from(l.gamma, (g, c) => storedDead(g, l.runningVar[c], thresholds)).flatMap((d, c) =>
      d.gamma || d.runningVar ? [c] : [],
    ),
  }));
  const probes =
    layers.length === 0
      ? findActivationProbes(model).map((p) => ({
          node: p.name,
          op: p.op,
          output: p.output,
          activation: findActivation(model, p.output, slopeFraction).op,
        }))
      : [];
  const { statement } = modelStatement(layers, probes.length);
  return {
    model: {
      ...file,
      producer: model.producer,
      irVersion: model.irVersion,
      opset: model.opset,
      nodeCount: model.graph.node.length,
      inputs: model.inputs.map((i) => ({ name: i.name, dtype: i.dtype ?? i.typeName, dims: i.dims ?? null })),
      outputs: model.outputs,
      bnCount: layers.length,
      fusedAway: layers.length === 0,
      statement,
    },
    layers,
    probes,
  };
}
