import { AttributeProto_AttributeType, type GraphProto, type NodeProto } from "onnx-buf";
import { UserError } from "../errors";
import { constantFloats } from "../onnx/constants";
import { attrFloat, attrInt, isOnnxOp, type OnnxModel } from "../onnx/model";
import type { ExternalReader } from "../onnx/tensorData";

/** A BatchNormalization node with its constants, as found in the graph. */
export interface BnLayer {
  /** Position among BN layers, in graph order. */
  index: number;
  node: NodeProto;
  name: string;
  /** Pre-BN and post-BN tensor names. */
  input: string;
  output: string;
  channels: number;
  epsilon: number;
  gamma: Float64Array;
  beta: Float64Array;
  runningMean: Float64Array;
  runningVar: Float64Array;
  /** The node that produces the BN input, or null for a graph input. */
  producer: { op: string; node: string } | null;
  /** Rank of the BN input when the graph declares it (value_info), else undefined until run. */
  rank: number | undefined;
  /** Opset 14+ training_mode=1: the node normalises with batch statistics. */
  trainingMode: boolean;
}

/** A Conv/Gemm/MatMul output observed instead, when BN was fused away at export. */
export interface ActivationProbe {
  index: number;
  node: NodeProto;
  name: string;
  op: string;
  output: string;
  /** Channel axis: 1 for Conv/ConvTranspose/Gemm, -1 (last) for MatMul. */
  channelAxis: number;
  /** Channel count when the weights tell it, else undefined until run. */
  channels: number | undefined;
}

const BN_DEFAULT_EPSILON = 1e-5;

/** Finds every BatchNormalization node and reads gamma, beta, running mean and variance. */
export function findBnLayers(model: OnnxModel, readExternal?: ExternalReader): BnLayer[] {
  const layers: BnLayer[] = [];
  for (const node of model.graph.node) {
    if (!isOnnxOp(node, "BatchNormalization")) continue;
    const name = model.nodeName.get(node)!;
    const [input, scale, bias, mean, variance] = node.input;
    const read = (tensor: string | undefined, what: string): Float64Array => {
      const v = tensor ? constantFloats(model, tensor, readExternal) : undefined;
      if (!v) {
        throw new UserError(
          "model",
          `BatchNormalization node "${name}" takes its ${what} from tensor "${tensor ?? ""}", which is not a constant of the model; BN Lens needs BN parameters stored in the model (export in eval mode).`,
        );
      }
      return v;
    };
    const gamma = read(scale, "scale (gamma)");
    const beta = read(bias, "bias (beta)");
    const runningMean = read(mean, "running mean");
    const runningVar = read(variance, "running variance");
    const channels = gamma.length;
    if (channels === 0) {
      throw new UserError(
        "model",
        `BatchNormalization node "${name}" has 0 channels (its gamma, beta, mean and variance are empty), so there is nothing to measure; the model is damaged.`,
      );
    }
    if (beta.length !== channels || runningMean.length !== channels || runningVar.length !== channels) {
      throw new UserError(
        "model",
        `BatchNormalization node "${name}" has parameters of different lengths (gamma ${gamma.length}, beta ${beta.length}, mean ${runningMean.length}, var ${runningVar.length}); the model is inconsistent.`,
      );
    }
    if (model.opset < 9 && attrInt(node, "spatial", 1) === 0) {
      throw new UserError(
        "model",
        `BatchNormalization node "${name}" uses spatial=0 (per-position statistics), which BN Lens does not support yet.`,
      );
    }
    const producerNode = model.producers.get(input);
    layers.push({
      index: layers.length,
      node,
      name,
      input,
      output: node.output[0],
      channels,
      epsilon: attrFloat(node, "epsilon", BN_DEFAULT_EPSILON),
      gamma,
      beta,
      runningMean,
      runningVar,
      producer: producerNode ? { op: producerNode.opType, node: model.nodeName.get(producerNode)! } : null,
      rank: declaredRank(model, input),
      trainingMode: model.opset >= 14 && attrInt(node, "training_mode", 0) === 1,
    });
  }
  return layers;
}

function declaredRank(model: OnnxModel, tensor: string): number | undefined {
  const v = [...model.graph.valueInfo, ...model.graph.input, ...model.graph.output].find((x) => x.name === tensor);
  const t = v?.type?.value;
  return t?.case === "tensorType" && t.value.shape ? t.value.shape.dim.length : undefined;
}

const PROBE_OPS = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

/** The Conv/ConvTranspose/Gemm/MatMul outputs to observe in a model without BN. */
export function findActivationProbes(model: OnnxModel): ActivationProbe[] {
  const probes: ActivationProbe[] = [];
  for (const node of model.graph.node) {
    if (!isOnnxOp(node) || !PROBE_OPS.has(node.opType) || !node.output[0]) continue;
    let channels: number | undefined;
    let channelAxis = 1;
    const weightDims = (i: number): number[] | undefined => {
      const init = model.initializers.get(node.input[i]);
      return init ? init.dims.map(Number) : undefined;
    };
    if (node.opType === "Conv") channels = weightDims(1)?.[0];
    else if (node.opType === "ConvTranspose") {
      const d = weightDims(1);
      channels = d ? d[1] * attrInt(node, "group", 1) : undefined;
    } else if (node.opType === "Gemm") {
      const d = weightDims(1);
      channels = d ? (attrInt(node, "transB", 0) ? d[0] : d[1]) : undefined;
    } else {
      channelAxis = -1;
      const d = weightDims(1);
      channels = d ? d[d.length - 1] : undefined;
    }
    probes.push({
      index: probes.length,
      node,
      name: model.nodeName.get(node)!,
      op: node.opType,
      output: node.output[0],
      channelAxis,
      channels,
    });
  }
  return probes;
}

/** A BatchNormalization node inside the body of an If, Loop or Scan node (any depth), which BN Lens does not measure. */
export interface SubgraphBn {
  /** The BN node's name (or its op and position when unnamed). */
  node: string;
  /** The main-graph node whose subgraph holds it, and that node's op. */
  parent: string;
  parentOp: string;
}

/** Every BN node in subgraphs (GRAPH and GRAPHS attributes), walked with a stack so deep nesting cannot overflow. */
export function findSubgraphBn(model: OnnxModel): SubgraphBn[] {
  const found: SubgraphBn[] = [];
  for (const top of model.graph.node) {
    const stack: GraphProto[] = subgraphsOf(top);
    while (stack.length) {
      const g = stack.pop()!;
      g.node.forEach((n, i) => {
        if (isOnnxOp(n, "BatchNormalization"))
          found.push({ node: n.name || `BatchNormalization #${i}`, parent: model.nodeName.get(top)!, parentOp: top.opType });
        stack.push(...subgraphsOf(n));
      });
    }
  }
  return found;
}

function subgraphsOf(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of node.attribute) {
    if (a.type === AttributeProto_AttributeType.GRAPH && a.g) out.push(a.g);
    else if (a.type === AttributeProto_AttributeType.GRAPHS) out.push(...a.graphs);
    else if (a.g) out.push(a.g);
    else if (a.graphs.length) out.push(...a.graphs);
  }
  return out;
}
