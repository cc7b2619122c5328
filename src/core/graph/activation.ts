// Which nonlinearity reads a tensor (a BN output, or a Conv/Gemm/MatMul output whose BN was folded in).
//
// From the tensor, the element-wise nodes that depend on it and on constants only are collected. A
// "stage" is the smallest group of them that starts at the tensor and has a single output through which
// everything further down depends on the tensor: one Relu node, or the Add/Clip/Mul/Div of a hard-swish.
// A one-node stage is recognised by its op type; a many-node stage (x·Sigmoid(x), x·Clip(x+3,0,6)/6,
// 0.5·x·(1+Erf(x/√2)), ...) is evaluated on scalars and compared with the catalogue, so operand order and
// where the constant factors sit do not matter, and x·Sigmoid(y) with y ≠ x never matches. Stages are
// then followed while the previous output feeds exactly one recognised stage (Relu then Clip).

import type { NodeProto } from "onnx-buf";
import { constantValue } from "../onnx/constants";
import { attr, attrFloat, isOnnxOp, type OnnxModel } from "../onnx/model";
import type { ExternalReader } from "../onnx/tensorData";
import { toFloat64, type HostTensor } from "../tensor";
import {
  activationProblem,
  chainOpName,
  describeActivation,
  evaluateChain,
  flatRegionsByChannel,
  SELU_ALPHA,
  SELU_GAMMA,
  type Nonlinearity,
  type FlatRegion,
} from "./flatRegion";
import { erf } from "./specialFunctions";

/** Options of findFollowingActivation. */
export interface FollowingActivationOptions {
  /** Flat means |slope| < slopeFraction × max |slope| (default 0.02). */
  slopeFraction?: number;
  /** The longest chain followed (default 8). */
  maxChainLength?: number;
  /** Reads external tensor data, for constants stored outside the model file. */
  readExternal?: ExternalReader;
}

/** One function of a recognised chain and the nodes that compute it. */
export interface ActivationStage {
  activation: Nonlinearity;
  /** Display names of the nodes, in graph order. */
  nodes: string[];
  /** Their op types, e.g. ["Add", "Clip", "Mul", "Div"] for a written-out hard-swish. */
  opTypes: string[];
  /** The tensor the stage produces. */
  output: string;
  /** The nodes compute scale·f(x) + offset (1 and 0 almost always); the flat region does not depend on them. */
  scale: number;
  offset: number;
}

/** What follows a tensor: a recognised nonlinearity chain, or "none" and what reads the tensor instead. */
export interface FollowingActivation {
  tensor: string;
  /** "Relu", "Clip", "HardSwish", "Silu", "Relu→Clip", ... or "none". */
  op: string;
  /** The functions with their parameters, in order; empty for "none". */
  chain: Nonlinearity[];
  stages: ActivationStage[];
  /** Display names of every node of the chain, in order. */
  nodes: string[];
  /** The chain's output tensor; undefined for "none". */
  output: string | undefined;
  /** "ReLU6 (Clip 0…6)", "HardSwish (as Add/Clip/Mul/Div)"; for "none" what reads it ("no nonlinearity: read by Add"). */
  description: string;
  /** One region shared by all channels, or one per channel when perChannel; empty for "none". */
  regions: FlatRegion[];
  /** True when PRelu has a slope per channel (channel axis 1). */
  perChannel: boolean;
  /** Op types of the tensor's consumers outside the chain (all consumers for "none"), in graph order. */
  consumers: string[];
  /** Display names of those consumers. */
  consumerNodes: string[];
  /** The tensor is one of the graph's outputs. */
  graphOutput: boolean;
  /** For "none" when different nonlinearities read the tensor: their op names. */
  candidates: string[];
  /** Sentences about anything unusual (other readers, ambiguity, unrecognised patterns); "" otherwise. */
  note: string;
}

/** The flat region that applies to a channel (the shared one unless perChannel); undefined for "none". */
export function regionForChannel(f: FollowingActivation, channel: number): FlatRegion | undefined {
  return f.perChannel ? f.regions[channel] : f.regions[0];
}

const DEFAULT_MAX_CHAIN = 8;
/** Bound on the element-wise nodes examined from one tensor. */
const MAX_CLOSURE = 48;

/** Catalogued ops that are single ONNX nodes (input 0 is x; other inputs are constant parameters). */
const CATALOGUE_OPS = new Set([
  "Relu",
  "LeakyRelu",
  "PRelu",
  "Clip",
  "Sigmoid",
  "HardSigmoid",
  "Tanh",
  "HardSwish",
  "Elu",
  "Selu",
  "Celu",
  "Softplus",
  "Softsign",
  "Gelu",
  "Mish",
]);
const UNARY_MATH = new Set(["Neg", "Abs", "Sqrt", "Exp", "Log", "Reciprocal", "Erf", "Identity"]);
const ARITHMETIC = new Set(["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"]);

/** Functions a many-node stage may compute, tried in this order. */
const PATTERN_TARGETS: Nonlinearity[] = [
  { op: "HardSwish" },
  { op: "Silu" },
  { op: "Mish" },
  { op: "Gelu", approximate: "none" },
  { op: "Gelu", approximate: "tanh" },
];
/** Probe inputs for pattern matching: -8…8 in steps of 1/16 (kinks of the targets are on the grid). */
const PROBES = Array.from({ length: 257 }, (_, i) => -8 + i / 16);
/** Float32 constants in exported graphs put the match off by ~1e-7; GELU's erf and tanh forms differ by 4.7e-4. */
const MATCH_TOLERANCE = 2e-6;

interface Stage {
  nodes: NodeProto[];
  input: string;
  output: string;
  activation?: Nonlinearity;
  scale: number;
  offset: number;
}

class Context {
  private readonly constCache = new Map<string, HostTensor | null>();
  private rankCache: Map<string, number> | undefined;

  constructor(
    readonly model: OnnxModel,
    readonly readExternal: ExternalReader | undefined,
  ) {}

  constant(name: string): HostTensor | undefined {
    if (!name) return undefined;
    let v = this.constCache.get(name);
    if (v === undefined) {
      try {
        v = constantValue(this.model, name, this.readExternal) ?? null;
      } catch {
        // An unreadable constant (external data without a reader) is treated as unknown.
        v = null;
      }
      if (v && v.dtype === "string") v = null;
      this.constCache.set(name, v);
    }
    return v ?? undefined;
  }

  scalar(name: string): number | undefined {
    const v = this.constant(name);
    return v && v.data.length === 1 ? toFloat64(v)[0] : undefined;
  }

  consumers(name: string): NodeProto[] {
    return this.model.consumers.get(name) ?? [];
  }

  index(node: NodeProto): number {
    return this.model.nodeIndex.get(node) ?? -1;
  }

  name(node: NodeProto): string {
    return this.model.nodeName.get(node) ?? node.name ?? node.opType;
  }

  isOutput(name: string): boolean {
    return this.model.outputs.includes(name);
  }

  /** The declared rank of a tensor (from value_info, inputs, outputs), if any. */
  rank(name: string): number | undefined {
    if (!this.rankCache) {
      this.rankCache = new Map();
      const g = this.model.graph;
      for (const v of [...g.valueInfo, ...g.input, ...g.output]) {
        const t = v.type?.value;
        if (t?.case === "tensorType" && t.value.shape) this.rankCache.set(v.name, t.value.shape.dim.length);
      }
    }
    return this.rankCache.get(name);
  }
}

const FLOAT_MAX = 3.4028234663852886e38;
/** ±FLT_MAX (the old Clip defaults and what exporters write for "no bound") means no bound. */
function bound(v: number, infinite: number): number {
  return Math.abs(v) >= FLOAT_MAX ? infinite : v;
}

function attrString(node: NodeProto, name: string): string | undefined {
  const a = attr(node, name);
  return a ? String.fromCharCode(...a.s) : undefined;
}

/** The catalogued function one node computes of its first input, or a reason it is not one. */
function activationOfNode(ctx: Context, node: NodeProto): Nonlinearity | string {
  const a = readActivation(ctx, node);
  // A damaged model can carry NaN bounds or slopes: such a node is not treated as a known nonlinearity.
  const problem = typeof a === "string" ? undefined : activationProblem(a);
  return problem ? `${node.opType} has unusable parameters (${problem})` : a;
}

function readActivation(ctx: Context, node: NodeProto): Nonlinearity | string {
  if (!isOnnxOp(node) || !CATALOGUE_OPS.has(node.opType)) return `${node.opType} is not a catalogued nonlinearity`;
  switch (node.opType) {
    case "Relu":
    case "Sigmoid":
    case "Tanh":
    case "HardSwish":
    case "Softplus":
    case "Softsign":
    case "Mish":
      return { op: node.opType };
    case "LeakyRelu":
      return { op: "LeakyRelu", alpha: attrFloat(node, "alpha", 0.01) };
    case "HardSigmoid":
      return { op: "HardSigmoid", alpha: attrFloat(node, "alpha", 0.2), beta: attrFloat(node, "beta", 0.5) };
    case "Elu":
      return { op: "Elu", alpha: attrFloat(node, "alpha", 1) };
    case "Selu":
      return { op: "Selu", alpha: attrFloat(node, "alpha", SELU_ALPHA), gamma: attrFloat(node, "gamma", SELU_GAMMA) };
    case "Celu":
      return { op: "Celu", alpha: attrFloat(node, "alpha", 1) };
    case "Gelu": {
      const approx = attrString(node, "approximate") ?? "none";
      if (approx !== "none" && approx !== "tanh") return `Gelu has an unknown approximate="${approx}"`;
      return { op: "Gelu", approximate: approx };
    }
    case "Clip": {
      // Opset < 11 gives the bounds as attributes, later opsets as optional inputs; read whichever is there.
      let min = bound(attrFloat(node, "min", -Infinity), -Infinity);
      let max = bound(attrFloat(node, "max", Infinity), Infinity);
      for (const [i, which] of [
        [1, "min"],
        [2, "max"],
      ] as const) {
        const name = node.input[i];
        if (!name) continue;
        const v = ctx.scalar(name);
        if (v === undefined) return `Clip's ${which} bound is not a constant scalar`;
        if (which === "min") min = bound(v, -Infinity);
        else max = bound(v, Infinity);
      }
      return { op: "Clip", min, max };
    }
    case "PRelu": {
      const t = ctx.constant(node.input[1]);
      if (!t) return "PRelu's slope is not a constant";
      const slopes = Array.from(toFloat64(t));
      if (slopes.length === 1) return { op: "PRelu", slope: slopes[0] };
      const big = t.dims.map((d, i) => [d, i] as const).filter(([d]) => d !== 1);
      if (big.length !== 1) return `PRelu's slope has shape [${t.dims.join(", ")}], not one value per channel`;
      // Slopes broadcast from the right; with the input's rank known, check they vary along axis 1.
      const rank = ctx.rank(node.input[0]);
      if (rank !== undefined && rank - t.dims.length + big[0][1] !== 1) {
        return `PRelu's slope varies along axis ${rank - t.dims.length + big[0][1]}, not the channel axis`;
      }
      return { op: "PRelu", slope: slopes };
    }
  }
  return `${node.opType} is not a catalogued nonlinearity`;
}

/** Whether a node joins the element-wise closure: it reads derived tensors and constants only. */
function absorbable(ctx: Context, node: NodeProto, derived: Set<string>): boolean {
  if (!isOnnxOp(node) || !node.output[0]) return false;
  const op = node.opType;
  const inputs = node.input.filter(Boolean);
  if (CATALOGUE_OPS.has(op)) {
    if (!derived.has(node.input[0]) || inputs.slice(1).some((i) => derived.has(i))) return false;
    return typeof activationOfNode(ctx, node) !== "string";
  }
  if (UNARY_MATH.has(op)) return inputs.length === 1 && derived.has(inputs[0]);
  if (ARITHMETIC.has(op)) {
    return inputs.some((i) => derived.has(i)) && inputs.every((i) => derived.has(i) || ctx.scalar(i) !== undefined);
  }
  return false;
}

/** The element-wise nodes that depend on `start` and constants only, in graph order. */
function closure(ctx: Context, start: string): Set<NodeProto> {
  const derived = new Set([start]);
  const nodes = new Set<NodeProto>();
  const queued = new Set<NodeProto>(ctx.consumers(start));
  const queue = [...queued];
  while (queue.length > 0 && nodes.size < MAX_CLOSURE) {
    // The graph is topologically sorted, so taking the earliest node first decides every input before it is read.
    let best = 0;
    for (let i = 1; i < queue.length; i++) if (ctx.index(queue[i]) < ctx.index(queue[best])) best = i;
    const node = queue.splice(best, 1)[0];
    if (!absorbable(ctx, node, derived)) continue;
    nodes.add(node);
    derived.add(node.output[0]);
    for (const c of ctx.consumers(node.output[0])) {
      if (!queued.has(c)) {
        queued.add(c);
        queue.push(c);
      }
    }
  }
  return nodes;
}

/**
 * The smallest stage that starts at `start`, contains `seed`, and has one output u such that every tensor
 * inside is read only inside, and everything in the closure below u depends on `start` only through u.
 */
function smallestStage(ctx: Context, start: string, seed: NodeProto, closed: Set<NodeProto>): NodeProto[] | undefined {
  const producerIn = (t: string) => {
    const p = ctx.model.producers.get(t);
    return p && closed.has(p) ? p : undefined;
  };
  const ordered = [...closed].sort((a, b) => ctx.index(a) - ctx.index(b));
  for (const cand of ordered) {
    if (ctx.index(cand) < ctx.index(seed)) continue;
    const u = cand.output[0];
    const anc = new Set<NodeProto>();
    const stack = [cand];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (anc.has(n)) continue;
      anc.add(n);
      for (const i of n.input) {
        const p = producerIn(i);
        if (p) stack.push(p);
      }
    }
    if (!anc.has(seed)) continue;
    const sealed = [...anc].every((n) => {
      const o = n.output[0];
      return o === u || (!ctx.isOutput(o) && ctx.consumers(o).every((c) => anc.has(c)));
    });
    if (!sealed) continue;
    // Below u, a node may read u, what comes from u, or constants: reading `start` or a side branch again
    // (x·Sigmoid(x) seen from the Sigmoid) means u is not yet the stage's end.
    const below = new Set<string>([u]);
    let dominated = true;
    for (const n of ordered) {
      if (ctx.index(n) <= ctx.index(cand) || anc.has(n)) continue;
      const reads = n.input.filter((i) => i === start || producerIn(i));
      if (!reads.some((i) => below.has(i))) continue;
      if (reads.some((i) => !below.has(i))) {
        dominated = false;
        break;
      }
      below.add(n.output[0]);
    }
    if (dominated) return [...anc].sort((a, b) => ctx.index(a) - ctx.index(b));
  }
  return undefined;
}

/** Evaluates a many-node stage on one scalar input; NaN when it cannot be evaluated on scalars. */
function evaluateStage(ctx: Context, nodes: readonly NodeProto[], start: string, x: number): Map<string, number> {
  const vals = new Map<string, number>([[start, x]]);
  const get = (name: string): number => vals.get(name) ?? ctx.scalar(name) ?? NaN;
  for (const n of nodes) {
    const ins = n.input.filter(Boolean).map(get);
    const a = ins[0];
    const b = ins[1];
    let y: number;
    switch (n.opType) {
      case "Add":
        y = a + b;
        break;
      case "Sub":
        y = a - b;
        break;
      case "Mul":
        y = a * b;
        break;
      case "Div":
        y = a / b;
        break;
      case "Pow":
        y = Math.pow(a, b);
        break;
      case "Max":
        y = Math.max(...ins);
        break;
      case "Min":
        y = Math.min(...ins);
        break;
      case "Neg":
        y = -a;
        break;
      case "Abs":
        y = Math.abs(a);
        break;
      case "Sqrt":
        y = Math.sqrt(a);
        break;
      case "Exp":
        y = Math.exp(a);
        break;
      case "Log":
        y = Math.log(a);
        break;
      case "Reciprocal":
        y = 1 / a;
        break;
      case "Erf":
        y = erf(a);
        break;
      case "Identity":
        y = a;
        break;
      default: {
        const act = activationOfNode(ctx, n);
        y =
          typeof act === "string" || (act.op === "PRelu" && typeof act.slope !== "number")
            ? NaN
            : evaluateChain(act, vals.get(n.input[0]) ?? NaN);
      }
    }
    vals.set(n.output[0], y);
  }
  return vals;
}

interface Match {
  activation: Nonlinearity;
  scale: number;
  offset: number;
  exact: boolean;
}

let targetValues: number[][] | undefined;

/** Compares g (on the probes) with each target up to scale and offset. */
function matchTargets(g: readonly number[]): Match | undefined {
  if (g.some((v) => !Number.isFinite(v))) return undefined;
  const gMax = Math.max(1, ...g.map(Math.abs));
  targetValues ??= PATTERN_TARGETS.map((t) => PROBES.map((x) => evaluateChain(t, x)));
  for (let k = 0; k < PATTERN_TARGETS.length; k++) {
    const target = PATTERN_TARGETS[k];
    const f = targetValues[k];
    const n = f.length;
    const fm = f.reduce((s, v) => s + v, 0) / n;
    const gm = g.reduce((s, v) => s + v, 0) / n;
    let cov = 0;
    let varF = 0;
    for (let i = 0; i < n; i++) {
      cov += (f[i] - fm) * (g[i] - gm);
      varF += (f[i] - fm) ** 2;
    }
    const scale = cov / varF;
    const offset = gm - scale * fm;
    if (!(Math.abs(scale) > 1e-3)) continue;
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(g[i] - (scale * f[i] + offset)));
    if (worst <= MATCH_TOLERANCE * gMax) {
      const exact = Math.abs(scale - 1) <= 1e-5 && Math.abs(offset) <= 1e-5 * gMax;
      return { activation: target, scale: exact ? 1 : scale, offset: exact ? 0 : offset, exact };
    }
  }
  return undefined;
}

/** A following scalar Mul/Div (x·c, c·x, x/c) that a written-out pattern may end with. */
function trailingScale(ctx: Context, tensor: string): NodeProto | undefined {
  if (ctx.isOutput(tensor)) return undefined;
  const cs = ctx.consumers(tensor);
  if (cs.length !== 1) return undefined;
  const n = cs[0];
  if (!isOnnxOp(n) || n.input.length !== 2 || !n.output[0]) return undefined;
  if (n.opType === "Mul") {
    const other = n.input[0] === tensor ? n.input[1] : n.input[0];
    return other !== tensor && ctx.scalar(other) !== undefined ? n : undefined;
  }
  if (n.opType === "Div") return n.input[0] === tensor && ctx.scalar(n.input[1]) !== undefined ? n : undefined;
  return undefined;
}

function recogniseStage(ctx: Context, start: string, nodes: NodeProto[]): Stage {
  const output = nodes[nodes.length - 1].output[0];
  const stage: Stage = { nodes, input: start, output, scale: 1, offset: 0 };
  if (nodes.length === 1) {
    const act = activationOfNode(ctx, nodes[0]);
    if (typeof act !== "string") stage.activation = act;
    return stage;
  }
  const probe = (list: NodeProto[], out: string) => PROBES.map((x) => evaluateStage(ctx, list, start, x).get(out) ?? NaN);
  const first = matchTargets(probe(nodes, output));
  if (first?.exact) return { ...stage, activation: first.activation };
  // x·Clip(x+3, 0, 6) then /6: take trailing constant factors in when they make the match exact.
  let list = nodes;
  let out = output;
  for (let k = 0; k < 2; k++) {
    const next = trailingScale(ctx, out);
    if (!next) break;
    list = [...list, next];
    out = next.output[0];
    const m = matchTargets(probe(list, out));
    if (m?.exact) return { nodes: list, input: start, output: out, activation: m.activation, scale: 1, offset: 0 };
  }
  if (first) return { ...stage, activation: first.activation, scale: first.scale, offset: first.offset };
  return stage;
}

/** The stages that start at a tensor and the consumers that belong to none of them. */
function stagesFrom(ctx: Context, start: string): { stages: Stage[]; loose: NodeProto[] } {
  const closed = closure(ctx, start);
  const stages: Stage[] = [];
  const loose: NodeProto[] = [];
  for (const c of ctx.consumers(start)) {
    if (stages.some((s) => s.nodes.includes(c))) continue;
    const nodes = closed.has(c) ? smallestStage(ctx, start, c, closed) : undefined;
    if (nodes) stages.push(recogniseStage(ctx, start, nodes));
    else loose.push(c);
  }
  return { stages, loose };
}

function followChain(ctx: Context, first: Stage, maxLength: number): Stage[] {
  const chain = [first];
  let u = first.output;
  while (chain.length < maxLength && !ctx.isOutput(u)) {
    const { stages, loose } = stagesFrom(ctx, u);
    if (loose.length > 0 || stages.length !== 1 || !stages[0].activation) break;
    chain.push(stages[0]);
    u = stages[0].output;
  }
  return chain;
}

function signature(chain: readonly Stage[]): string {
  return JSON.stringify(chain.map((s) => s.activation));
}

function stageDescription(s: Stage): string {
  const base = describeActivation(s.activation!);
  if (s.nodes.length === 1) return base;
  const scaled = s.scale !== 1 || s.offset !== 0 ? `, scaled ×${Number(s.scale.toPrecision(4))}` : "";
  return `${base} (as ${s.nodes.map((n) => n.opType).join("/")}${scaled})`;
}

function listOps(nodes: readonly NodeProto[]): string {
  return nodes.map((n) => n.opType).join(", ");
}

/**
 * Finds the nonlinearity that reads `tensor` and follows element-wise chains of them; reports "none" and
 * the actual readers when none does (or when different ones do).
 */
export function findFollowingActivation(model: OnnxModel, tensor: string, options: FollowingActivationOptions = {}): FollowingActivation {
  const ctx = new Context(model, options.readExternal);
  const maxLength = Math.max(1, options.maxChainLength ?? DEFAULT_MAX_CHAIN);
  const graphOutput = ctx.isOutput(tensor);
  const all = ctx.consumers(tensor);
  const { stages } = stagesFrom(ctx, tensor);
  const chains = stages.filter((s) => s.activation).map((s) => followChain(ctx, s, maxLength));
  const distinct = new Map<string, Stage[]>();
  for (const c of chains) if (!distinct.has(signature(c))) distinct.set(signature(c), c);

  const none = (description: string, note: string, candidates: string[] = []): FollowingActivation => ({
    tensor,
    op: "none",
    chain: [],
    stages: [],
    nodes: [],
    output: undefined,
    description,
    regions: [],
    perChannel: false,
    consumers: all.map((n) => n.opType),
    consumerNodes: all.map((n) => ctx.name(n)),
    graphOutput,
    candidates,
    note,
  });
  const readers = [...(all.length > 0 ? [`read by ${listOps(all)}`] : []), ...(graphOutput ? ["a graph output"] : [])];
  const where = readers.length > 0 ? readers.join(" and ") : "not read by any node";

  if (distinct.size > 1) {
    const names = [...distinct.values()].map((c) => chainOpName(c.map((s) => s.activation!)));
    return none(
      `no single nonlinearity: ${where}`,
      `Different nonlinearities read this tensor (${names.join("; ")}), so none is chosen.`,
      names,
    );
  }
  if (distinct.size === 0) {
    const unrecognised = stages.filter((s) => s.nodes.length > 1);
    const note = unrecognised.map((s) => `The element-wise pattern ${listOps(s.nodes)} matches no catalogued function.`).join(" ");
    return none(`no nonlinearity: ${where}`, note);
  }

  const chain = [...distinct.values()][0];
  const activations = chain.map((s) => s.activation!);
  const inChain = new Set(chain.flatMap((s) => s.nodes));
  const others = all.filter((n) => !inChain.has(n));
  const perChannel = activations.some((a) => a.op === "PRelu" && typeof a.slope !== "number" && a.slope.length > 1);
  const regions = flatRegionsByChannel(activations, { fraction: options.slopeFraction });
  const notes: string[] = [];
  if (others.length > 0) notes.push(`This tensor is also read by ${listOps(others)}.`);
  if (graphOutput) notes.push("This tensor is also a graph output.");
  const last = chain[chain.length - 1];
  return {
    tensor,
    op: chainOpName(activations),
    chain: activations,
    stages: chain.map((s) => ({
      activation: s.activation!,
      nodes: s.nodes.map((n) => ctx.name(n)),
      opTypes: s.nodes.map((n) => n.opType),
      output: s.output,
      scale: s.scale,
      offset: s.offset,
    })),
    nodes: chain.flatMap((s) => s.nodes.map((n) => ctx.name(n))),
    output: last.output,
    description: chain.map(stageDescription).join(" → "),
    regions,
    perChannel,
    consumers: others.map((n) => n.opType),
    consumerNodes: others.map((n) => ctx.name(n)),
    graphOutput,
    candidates: [],
    note: notes.join(" "),
  };
}
