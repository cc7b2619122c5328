import type { ModelDescription, StoredLayer } from "../core/inspect/modelDescription";
import type { LayerReport, Report } from "../core/report";
import type { GetLayerResult } from "../protocol/webview";
import { fmt } from "../core/stats/judge";

/**
 * The text of a read-only "node" document: a node near a BN layer (the BN itself, the node that feeds it,
 * the nonlinearity after it, or a probed Conv/Gemm/MatMul when BN was fused away), from what BN Lens
 * already has about the model: its overview (decoded in the inference process), the last report's model
 * and the layer of that report named `node` (asked of the inference process, which holds the report).
 * Returns undefined for nodes that neither mentions.
 */
export function nodeText(
  node: string,
  overview: ModelDescription | undefined,
  model: Report["model"] | undefined,
  layer: GetLayerResult | undefined,
): string | undefined {
  const modelName = overview?.model.name ?? model?.name ?? "the model";
  const bnCount = overview?.model.bnCount ?? model?.bnCount ?? 0;
  const bnLayer = layer?.kind === "bn" && layer.layer.node === node ? layer.layer : undefined;
  // Without the overview (it could not be read), the report's own layer carries its stored parameters.
  const stored: Omit<StoredLayer, "deadChannels">[] = overview?.layers ?? (bnLayer ? [bnLayer] : []);
  const observed = (i: number): LayerReport | undefined => (bnLayer?.index === i ? bnLayer : undefined);
  const header = (op: string, extra: string[] = []) => [`${node}  (${op})`, `Model: ${modelName}`, ...extra, ""];

  const bn = stored.find((l) => l.node === node);
  if (bn) return bnText(bn, observed(bn.index), header("BatchNormalization", [`BN layer #${bn.index} of ${bnCount}`]));

  const fed = stored.filter((l) => l.producer?.node === node);
  if (fed.length) {
    const lines = header(fed[0].producer!.op, ["Feeds a BatchNormalization layer"]);
    lines.push("Outputs");
    for (const l of fed) lines.push(`  ${l.input}  → ${l.node} (BatchNormalization, ${l.channels} channels)`);
    return lines.join("\n") + "\n";
  }

  const after = stored.find((l) => l.activation.nodes.includes(node));
  if (after) {
    const a = after.activation;
    const lines = header(a.op, [`Follows ${after.node} (BatchNormalization)`]);
    lines.push("Neighbours", `  before: ${after.node} (output ${after.output})`, `  chain:  ${a.nodes.join(" → ")}`);
    if (a.consumers.length) lines.push(`  then:   ${a.consumers.join(", ")}`);
    lines.push(
      "",
      "Flat region (in post-BN units)",
      `  ${a.flatRegion.description}; slope below ${a.flatRegion.slopeFraction} of its maximum`,
    );
    if (a.description) lines.push("", a.description);
    return lines.join("\n") + "\n";
  }

  const probe = overview?.probes.find((p) => p.node === node);
  const act = layer?.kind === "activation" && layer.layer.node === node ? layer.layer : undefined;
  if (probe || act) {
    const op = act?.op ?? probe!.op;
    const lines = header(op, ["Observed instead of a BN layer (BN was fused away)"]);
    lines.push("Outputs", `  ${act?.output ?? probe!.output}`);
    lines.push(
      "Neighbours",
      `  then: ${act?.activation.op ?? probe!.activation}${act?.activation.nodes.length ? ` (${act.activation.nodes.join(" → ")})` : ""}`,
    );
    if (act) {
      lines.push("", `Last run: ${act.channels} channels, channel axis ${act.channelAxis}`);
      lines.push(
        ...channelTable(["mean", "var", "min", "max"], act.channels, (c) => [
          act.stats.mean[c],
          act.stats.var[c],
          act.stats.min[c],
          act.stats.max[c],
        ]),
      );
    }
    return lines.join("\n") + "\n";
  }
  return undefined;
}

function bnText(l: Omit<StoredLayer, "deadChannels">, obs: LayerReport | undefined, lines: string[]): string {
  lines.push(
    "Inputs",
    `  X      ${l.input}${l.producer ? `  (from ${l.producer.node}, ${l.producer.op})` : "  (a graph input)"}`,
    `  scale, B, mean, var: stored per-channel parameters (${l.channels} channels, below)`,
    "Outputs",
    `  Y      ${l.output}`,
    "Attributes",
    `  epsilon = ${float32Text(l.epsilon)}`,
    "Neighbours",
    `  before: ${l.producer ? `${l.producer.node} (${l.producer.op})` : "graph input"}`,
    `  after:  ${l.activation.op === "none" ? "no recognised nonlinearity" : `${l.activation.op} (${l.activation.nodes.join(" → ")})`}`,
  );
  if (l.activation.consumers.length) lines.push(`  also read by: ${l.activation.consumers.join(", ")}`);
  if (l.activation.op !== "none") lines.push(`  flat region: ${l.activation.flatRegion.description}`);
  lines.push("", "Stored parameters");
  lines.push(
    ...channelTable(["gamma", "beta", "running mean", "running var"], l.channels, (c) => [
      l.gamma[c],
      l.beta[c],
      l.running.mean[c],
      l.running.var[c],
    ]),
  );
  if (obs) {
    lines.push("", "Observed in the last run (pre-BN mean and variance against the running statistics)");
    lines.push(
      ...channelTable(["mean", "var", "z", "var ratio", "flat share"], obs.channels, (c) => [
        obs.pre.mean[c],
        obs.pre.var[c],
        obs.compare.z[c],
        obs.compare.varRatio[c],
        obs.saturation.fraction[c],
      ]),
    );
    if (obs.warnings.length) lines.push("", "Findings", ...obs.warnings.map((w) => `  [${w.severity} ${w.rule}] ${w.message}`));
  }
  return lines.join("\n") + "\n";
}

function channelTable(columns: string[], channels: number, row: (c: number) => (number | null | undefined)[]): string[] {
  const width = 14;
  const out = [`  ${"ch".padStart(4)}  ${columns.map((c) => c.padStart(width)).join("")}`];
  for (let c = 0; c < channels; c++)
    out.push(
      `  ${String(c).padStart(4)}  ${row(c)
        .map((v) => fmt(v).padStart(width))
        .join("")}`,
    );
  return out;
}

/**
 * The shortest decimal that reads back as the same float32: ONNX stores epsilon as a float, so 1e-5 arrives
 * as 0.000009999999747378752 in float64 and is printed "1e-5", the way it was written.
 */
export function float32Text(x: number): string {
  if (!Number.isFinite(x) || x === 0) return String(x);
  const f = Math.fround(x);
  for (let digits = 1; digits <= 9; digits++) {
    const t = Number(f.toPrecision(digits));
    // Small values as exponents, the way they are written in code and papers ("1e-5").
    if (Math.fround(t) === f) return Math.abs(t) < 1e-3 ? t.toExponential() : String(t);
  }
  return String(f);
}
