import type { ActivationJson, ExpectedJson, LayerReport, Report, WarningJson } from "../report";
import { invalidParameters } from "../graph/bnParameters";
import type { OnnxModel } from "../onnx/model";
import { channelIntervals, modelStatement, type ActivationFinder } from "./inspection";
import { expectedFlat } from "../stats/expected";
import { findActivationProbes, findBnLayers, findSubgraphBn } from "../graph/bnLayers";
import type { ExternalReader } from "../onnx/tensorData";
import { saturationKind, storedDead, withDefaults } from "../stats/judge";
import type { Thresholds } from "../report";

/** A BN layer as stored in the model, before any data is run. */
export type StoredLayer = Pick<
  LayerReport,
  "index" | "node" | "input" | "output" | "channels" | "epsilon" | "producer" | "gamma" | "beta" | "running"
> & {
  activation: ActivationJson;
  /** Flat-region shares gamma and beta imply (normal approximation). */
  expected: ExpectedJson;
  /** Channels dead from the stored values alone (|gamma| or running variance at or below the thresholds); data may add more. */
  deadChannels: number[];
};

/** What opening a model shows at once, without running it. */
export interface ModelDescription {
  model: Pick<
    Report["model"],
    "path" | "name" | "sizeBytes" | "producer" | "irVersion" | "opset" | "nodeCount" | "outputs" | "bnCount" | "fusedAway" | "statement"
  > & {
    inputs: { name: string; dtype: string; dims: (number | string | null)[] | null }[];
  };
  layers: StoredLayer[];
  /** Conv/Gemm/MatMul outputs that would be observed when BN was fused away. */
  probes: { node: string; op: string; output: string; activation: string }[];
  /** Findings that need no data: invalid stored BN parameters (per layer), BN in subgraphs, BN fused away. */
  warnings: WarningJson[];
}

/** Reads the stored BN parameters and what follows each BN. */
export function modelDescription(
  model: OnnxModel,
  file: { path: string; name: string; sizeBytes: number },
  findActivation: ActivationFinder,
  readExternal?: ExternalReader,
  partialThresholds: Partial<Thresholds> = {},
): ModelDescription {
  const thresholds = withDefaults(partialThresholds);
  const slopeFraction = thresholds.slopeFraction;
  const stored = findBnLayers(model, readExternal);
  const layers: StoredLayer[] = stored.map((l) => {
    const activation = findActivation(model, l.output, slopeFraction);
    return {
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
      activation,
      expected: expectedFlat(l.gamma, l.beta, channelIntervals(activation), saturationKind(activation)),
      deadChannels: Array.from(l.gamma, (g, c) => storedDead(g, l.runningVar[c], thresholds)).flatMap((d, c) =>
        d.gamma || d.runningVar ? [c] : [],
      ),
    };
  });
  const probes =
    layers.length === 0
      ? findActivationProbes(model).map((p) => ({
          node: p.name,
          op: p.op,
          output: p.output,
          activation: findActivation(model, p.output, slopeFraction).op,
        }))
      : [];
  const subgraphBn = findSubgraphBn(model);
  const { statement, warnings } = modelStatement(layers, probes.length, subgraphBn);
  for (const l of stored) {
    const invalid = invalidParameters(l);
    if (invalid) warnings.push(invalid);
  }
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
      fusedAway: layers.length === 0 && subgraphBn.length === 0,
      statement,
    },
    layers,
    probes,
    warnings,
  };
}
