import { findFollowingActivation, type FollowingActivation } from "../graph/activation";
import type { Interval } from "../graph/flatRegion";
import type { OnnxModel } from "../onnx/model";
import type { ExternalReader } from "../onnx/tensorData";
import type { ActivationJson, IntervalJson } from "../report";
import type { ActivationFinder } from "./inspection";

const toJson = (iv: Interval): IntervalJson => [Number.isFinite(iv[0]) ? iv[0] : null, Number.isFinite(iv[1]) ? iv[1] : null];

/** The report form of what follows a tensor. */
export function activationJson(f: FollowingActivation, slopeFraction: number): ActivationJson {
  const shared = f.perChannel ? undefined : f.regions[0];
  const consumers = [...f.consumers, ...(f.graphOutput ? ["graph output"] : [])];
  return {
    op: f.op,
    description: f.note ? `${f.description}. ${f.note}` : f.description,
    nodes: f.nodes,
    consumers,
    flatRegion: {
      intervals: shared ? shared.intervals.map(toJson) : [],
      ...(f.perChannel ? { perChannel: f.regions.map((r) => r.intervals.map(toJson)) } : {}),
      description: f.perChannel ? "per channel (PRelu slopes)" : (shared?.description ?? "none"),
      slopeFraction,
    },
  };
}

/** The production activation finder: graph patterns of src/core/graph/activation.ts. */
export function activationFinder(readExternal?: ExternalReader): ActivationFinder {
  return (model: OnnxModel, tensor: string, slopeFraction: number) =>
    activationJson(findFollowingActivation(model, tensor, { slopeFraction, readExternal }), slopeFraction);
}
