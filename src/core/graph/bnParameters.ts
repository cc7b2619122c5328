import type { WarningJson } from "../report";
import type { BnLayer } from "./bnLayers";

const CONSEQUENCE =
  "BN computes NaN or meaningless values here whatever the data; the model file is damaged or was exported from a broken checkpoint.";

/**
 * The data-free check of what a BN layer stores: a running variance below 0, an epsilon below 0, or a
 * NaN or infinite gamma, beta, running mean or running variance. Returns the finding (rule
 * `invalid-parameters`), or undefined when the stored parameters are valid.
 */
export function invalidParameters(
  layer: Pick<BnLayer, "name" | "channels" | "epsilon" | "gamma" | "beta" | "runningMean" | "runningVar">,
): WarningJson | undefined {
  const parts: string[] = [];
  const channels: number[] = [];
  if (!Number.isFinite(layer.epsilon)) parts.push(`epsilon ${layer.epsilon} (not finite)`);
  else if (layer.epsilon < 0) parts.push(`epsilon ${fmt(layer.epsilon)} (below 0)`);
  const arrays: [string, Float64Array][] = [
    ["gamma", layer.gamma],
    ["beta", layer.beta],
    ["running mean", layer.runningMean],
    ["running variance", layer.runningVar],
  ];
  for (const [what, values] of arrays) {
    const nan: number[] = [];
    const inf: number[] = [];
    const negative: number[] = [];
    values.forEach((v, c) => {
      if (Number.isNaN(v)) nan.push(c);
      else if (!Number.isFinite(v)) inf.push(c);
      else if (what === "running variance" && v < 0) negative.push(c);
    });
    const list = (cs: number[]) => `${cs.slice(0, 8).join(", ")}${cs.length > 8 ? ", …" : ""}`;
    const of = (cs: number[]) => `${cs.length} of ${layer.channels} channel${layer.channels === 1 ? "" : "s"}`;
    if (nan.length) parts.push(`${what} NaN in ${of(nan)} (${list(nan)})`);
    if (inf.length) parts.push(`${what} infinite in ${of(inf)} (${list(inf)})`);
    if (negative.length) {
      const worst = negative.reduce((w, c) => (values[c] < values[w] ? c : w), negative[0]);
      parts.push(`${what} below 0 in ${of(negative)} (${list(negative)}; lowest ${fmt(values[worst])} in channel ${worst})`);
    }
    channels.push(...nan, ...inf, ...negative);
  }
  if (parts.length === 0) return undefined;
  const unique = [...new Set(channels)];
  return {
    rule: "invalid-parameters",
    severity: "error",
    layer: layer.name,
    ...(unique.length ? { channel: unique[0], channels: unique } : {}),
    message: `The model stores invalid BN parameters in this layer: ${parts.join("; ")}. ${CONSEQUENCE}`,
  };
}

function fmt(v: number): string {
  return String(Number(v.toPrecision(3)));
}
