import { UserError } from "../errors";
import type { ActivationLayerReport, ChannelStatsJson, LayerReport, Report, SaturationJson, Severity } from "../report";
import { fmt } from "../stats/judge";
import {
  COMPARISON_SCHEMA_VERSION,
  type CompareFindingJson,
  type CompareThresholds,
  type ComparedSideJson,
  type ComparisonReport,
  type DriftJson,
  type LayerComparisonJson,
  type SideLayerJson,
  type WorstChannelJson,
} from "./comparisonReport";
import { jsDistance, jsNoiseFloor, shareChange, standardizedMeanDifference, varianceRatio } from "./drift";

/**
 * Default comparison thresholds. JS distance 0.1 is what a Gaussian shifted by about a quarter of its std
 * shows (PSI ≈ 0.06), 0.2 about half a std (PSI ≈ 0.25, the usual "significant shift" rule of thumb).
 */
export const DEFAULT_COMPARE_THRESHOLDS: CompareThresholds = {
  jsDistance: { warning: 0.1, error: 0.2 },
  noiseFactor: 3,
  flatShareChange: { warning: 0.1, error: 0.3 },
};

/** Fills missing fields of partial user thresholds from the defaults. */
export function withCompareDefaults(partial?: Partial<CompareThresholds>): CompareThresholds {
  const d = DEFAULT_COMPARE_THRESHOLDS;
  return {
    jsDistance: { ...d.jsDistance, ...partial?.jsDistance },
    noiseFactor: partial?.noiseFactor ?? d.noiseFactor,
    flatShareChange: { ...d.flatShareChange, ...partial?.flatShareChange },
  };
}

/** One compared tensor, whichever kind of layer it comes from. */
interface Side {
  node: string;
  op: string | null;
  channels: number;
  pre: ChannelStatsJson;
  post: ChannelStatsJson | null;
  saturation: SaturationJson;
  dead: number[];
}

function bnSide(l: LayerReport): Side {
  return {
    node: l.node,
    op: l.producer?.op ?? null,
    channels: l.channels,
    pre: l.pre,
    post: l.post,
    saturation: l.saturation,
    dead: l.summary.deadChannels,
  };
}

function activationSide(a: ActivationLayerReport): Side {
  const dead = a.warnings.find((w) => w.rule === "dead-channel")?.channels ?? [];
  return {
    node: a.node,
    op: a.op,
    channels: a.channels,
    pre: a.stats,
    post: null,
    saturation: a.saturation,
    dead: [...dead].sort((x, y) => x - y),
  };
}

/** Channels with a value, largest value first (ties by channel). */
function worstFirst(values: readonly (number | null)[]): number[] {
  return values
    .map((v, c) => ({ v, c }))
    .filter((x): x is { v: number; c: number } => x.v !== null)
    .sort((x, y) => y.v - x.v || x.c - y.c)
    .map((x) => x.c);
}

function mean(values: readonly (number | null)[]): number | null {
  let s = 0;
  let n = 0;
  for (const v of values) {
    if (v === null) continue;
    s += v;
    n++;
  }
  return n ? s / n : null;
}

/** Per-channel and pooled drift of one captured tensor from A to B. */
export function tensorDrift(a: ChannelStatsJson, b: ChannelStatsJson): DriftJson {
  const C = a.count.length;
  const drift: DriftJson = {
    smd: [],
    varRatio: [],
    js: [],
    jsNoiseFloor: [],
    pooledJs: null,
    score: null,
    scoreNoiseFloor: null,
    meanJs: null,
  };
  for (let c = 0; c < C; c++) {
    drift.smd.push(standardizedMeanDifference(a.mean[c], a.var[c], b.mean[c]));
    drift.varRatio.push(varianceRatio(a.var[c], b.var[c]));
    const r = jsDistance(
      { first: a.histogram.first, counts: a.histogram.perChannel[c] ?? [] },
      { first: b.histogram.first, counts: b.histogram.perChannel[c] ?? [] },
    );
    drift.js.push(r.distance);
    drift.jsNoiseFloor.push(r.distance === null ? null : jsNoiseFloor(r.support, r.nA, r.nB));
  }
  drift.pooledJs = jsDistance(
    { first: a.histogram.first, counts: a.histogram.total },
    { first: b.histogram.first, counts: b.histogram.total },
  ).distance;
  drift.meanJs = mean(drift.js);
  drift.js.forEach((js, c) => {
    if (js !== null && (drift.score === null || js > drift.score)) {
      drift.score = js;
      drift.scoreNoiseFloor = drift.jsNoiseFloor[c];
    }
  });
  return drift;
}

function sideLayer(s: Side): SideLayerJson {
  return {
    count: s.pre.count,
    mean: s.pre.mean,
    var: s.pre.var,
    postMean: s.post ? s.post.mean : null,
    postVar: s.post ? s.post.var : null,
    flatShare: s.saturation.fraction,
    layerFlatShare: s.saturation.layerFraction,
    dead: s.dead,
    preHistogram: { first: s.pre.histogram.first, counts: s.pre.histogram.total },
    postHistogram: s.post ? { first: s.post.histogram.first, counts: s.post.histogram.total } : null,
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1).replace(/\.0$/, "")}%`;
}

function signedStd(x: number | null): string {
  return x === null ? "n/a" : `${x >= 0 ? "+" : ""}${fmt(x)} std`;
}

function channelList(channels: readonly number[], max = 8): string {
  return channels.length > max ? `${channels.slice(0, max).join(", ")} and ${channels.length - max} more` : channels.join(", ");
}

const RANK: Record<Severity, number> = { error: 3, warning: 2, info: 1 };

/** Compares two layers' tensors and runs the comparison rules on them (the shift's start is filled in later). */
function compareLayer(
  index: number,
  kind: LayerComparisonJson["kind"],
  sa: Side,
  sb: Side,
  extra: Pick<LayerComparisonJson, "activation" | "saturationKind" | "flatRegion" | "running">,
  t: CompareThresholds,
): LayerComparisonJson {
  const pre = tensorDrift(sa.pre, sb.pre);
  const post = sa.post && sb.post ? tensorDrift(sa.post, sb.post) : null;
  const flatShareChange = sa.saturation.fraction.map((f, c) => shareChange(f, sb.saturation.fraction[c] ?? null));
  const deadA = new Set(sa.dead);
  const deadB = new Set(sb.dead);
  const worst: WorstChannelJson[] = worstFirst(pre.js)
    .slice(0, 5)
    .map((c) => ({ channel: c, js: pre.js[c]!, smd: pre.smd[c], varRatio: pre.varRatio[c] }));
  const shiftedChannels = worstFirst(pre.js).filter(
    (c) => pre.js[c]! >= t.jsDistance.warning && pre.js[c]! >= t.noiseFactor * (pre.jsNoiseFloor[c] ?? 0),
  );
  return {
    index,
    node: sa.node,
    kind,
    op: sa.op,
    channels: sa.channels,
    ...extra,
    pre,
    post,
    a: sideLayer(sa),
    b: sideLayer(sb),
    flatShareChange,
    layerFlatShareChange: extra.saturationKind === "none" ? null : shareChange(sa.saturation.layerFraction, sb.saturation.layerFraction),
    newDead: sb.dead.filter((c) => !deadA.has(c)),
    revived: sa.dead.filter((c) => !deadB.has(c)),
    worst,
    shiftedChannels,
    drifting: shiftedChannels.length > 0,
    findings: [],
    severity: null,
  };
}

function domainShift(
  l: LayerComparisonJson,
  start: LayerComparisonJson,
  firstIndex: number,
  t: CompareThresholds,
): CompareFindingJson | null {
  if (!l.drifting) return null;
  const c = l.shiftedChannels[0];
  const js = l.pre.js[c]!;
  const severity: Severity = js >= t.jsDistance.error ? "error" : "warning";
  const what = l.kind === "bn" ? "pre-BN distribution" : `${l.op ?? "layer"} output distribution`;
  const cause =
    l === start
      ? start.index === firstIndex
        ? "Likely cause: the input data differ between A and B (preprocessing such as normalisation, channel order or resizing, a different camera or domain)."
        : "Likely cause: the shift starts here, earlier layers agree: B differs in features this layer responds to (a domain shift the first layers do not see)."
      : `Likely cause: it follows from the shift that starts at layer ${start.index} (${start.node}).`;
  const n = l.shiftedChannels.length;
  return {
    rule: "domain-shift",
    severity,
    layer: l.node,
    channel: c,
    channels: l.shiftedChannels,
    value: js,
    threshold: severity === "error" ? t.jsDistance.error : t.jsDistance.warning,
    message:
      `The ${what} shifted from A to B in ${n} of ${l.channels} channels (Jensen-Shannon distance ${fmt(t.jsDistance.warning)} or more and ${fmt(t.noiseFactor)}× its noise floor); ` +
      `worst channel ${c}: JS ${fmt(js)} (noise floor ${fmt(l.pre.jsNoiseFloor[c])}), mean moved ${signedStd(l.pre.smd[c])} of A, variance ×${fmt(l.pre.varRatio[c])}; ` +
      `mean JS over the layer's channels ${fmt(l.pre.meanJs)}. ${cause}`,
  };
}

function saturationChange(l: LayerComparisonJson, t: CompareThresholds): CompareFindingJson | null {
  if (l.saturationKind === "none") return null;
  const hits = l.flatShareChange
    .map((d, c) => ({ d, c }))
    .filter((x): x is { d: number; c: number } => x.d !== null && Math.abs(x.d) >= t.flatShareChange.warning)
    .sort((x, y) => Math.abs(y.d) - Math.abs(x.d));
  if (!hits.length) return null;
  const w = hits[0];
  const severity: Severity = hits.some((h) => Math.abs(h.d) >= t.flatShareChange.error) ? "error" : "warning";
  const fa = l.a.flatShare[w.c] ?? 0;
  const fb = l.b.flatShare[w.c] ?? 0;
  const flat = l.saturationKind === "rectifier" ? `the off side of ${l.activation}` : `the flat (saturated) region of ${l.activation}`;
  const layer =
    l.a.layerFlatShare !== null && l.b.layerFlatShare !== null ? ` (layer: ${pct(l.a.layerFlatShare)} → ${pct(l.b.layerFlatShare)})` : "";
  return {
    rule: "saturation-change",
    severity,
    layer: l.node,
    channel: w.c,
    channels: hits.map((h) => h.c),
    value: w.d,
    threshold: severity === "error" ? t.flatShareChange.error : t.flatShareChange.warning,
    message:
      `The share of post-BN values in ${flat} changed by ${fmt(t.flatShareChange.warning * 100)} points or more in ${hits.length} of ${l.channels} channels; ` +
      `worst channel ${w.c}: ${pct(fa)} on A, ${pct(fb)} on B${layer}. Likely cause: the shifted inputs ${w.d > 0 ? "push more" : "push fewer"} values into ${flat}.`,
  };
}

function newDeadChannel(l: LayerComparisonJson): CompareFindingJson | null {
  if (!l.newDead.length) return null;
  const c = l.newDead[0];
  const fa = l.a.flatShare[c];
  return {
    rule: "new-dead-channel",
    severity: "warning",
    layer: l.node,
    channel: c,
    channels: l.newDead,
    message:
      `${l.newDead.length} channel${l.newDead.length === 1 ? " is" : "s are"} dead on B but not on A: ${channelList(l.newDead)} ` +
      `(never outside the flat region of ${l.activation} on B${fa !== null && fa !== undefined ? `; channel ${c} was outside it for ${pct(1 - fa)} of A's values` : ""}). ` +
      "Likely cause: B's inputs push these channels entirely into the flat region; the features they carry are lost on B.",
  };
}

function sideOf(r: Report, reportPath: string | undefined): ComparedSideJson {
  return {
    ...(reportPath !== undefined ? { reportPath } : {}),
    createdAt: r.createdAt,
    data: r.data,
    samples: r.samples,
    precision: r.run.precision,
  };
}

function sameScheme(a: Report["histogram"], b: Report["histogram"]): boolean {
  return (
    a.name === b.name &&
    a.bucketCount === b.bucketCount &&
    a.bucketsPerOctave === b.bucketsPerOctave &&
    a.minExponent === b.minExponent &&
    a.maxExponent === b.maxExponent
  );
}

/** Refuses, in one sentence, two reports that cannot be compared bucket by bucket. */
function checkComparable(a: Report, b: Report, names: readonly [string, string]): void {
  const [na, nb] = names;
  if (a.model.sha256 !== b.model.sha256) {
    throw new UserError(
      "data",
      `${na} and ${nb} are reports of different models (${a.model.name}, sha256 ${a.model.sha256.slice(0, 12)}…, and ${b.model.name}, sha256 ${b.model.sha256.slice(0, 12)}…); compare two reports of the same model file.`,
    );
  }
  if (!sameScheme(a.histogram, b.histogram)) {
    throw new UserError(
      "data",
      `${na} and ${nb} use different histogram bucket schemes (${a.histogram.name}, ${a.histogram.bucketCount} buckets, and ${b.histogram.name}, ${b.histogram.bucketCount} buckets); re-run both inspections with the same BN Lens version.`,
    );
  }
  if (a.thresholds.slopeFraction !== b.thresholds.slopeFraction) {
    throw new UserError(
      "data",
      `${na} measured flat regions with slope fraction ${a.thresholds.slopeFraction} and ${nb} with ${b.thresholds.slopeFraction}; re-run one of them with the same bnLens.slopeFraction so saturation compares.`,
    );
  }
  const layersDiffer =
    a.layers.length !== b.layers.length ||
    a.activations.length !== b.activations.length ||
    a.layers.some((l, i) => l.node !== b.layers[i].node || l.channels !== b.layers[i].channels) ||
    a.activations.some((l, i) => l.node !== b.activations[i].node || l.channels !== b.activations[i].channels);
  if (layersDiffer)
    throw new UserError(
      "data",
      `${na} and ${nb} list different layers although the model is the same; re-run both inspections with the same BN Lens version.`,
    );
}

/** Options of one comparison. */
export interface CompareOptions {
  thresholds?: Partial<CompareThresholds>;
  /** Names for messages (file names) and, when read from files, the report paths. */
  names?: [string, string];
  reportPaths?: [string | undefined, string | undefined];
  generatorVersion: string;
  createdAt?: string;
}

/**
 * Compares report B with baseline A, layer by layer in graph order: per-channel drift of the pre-BN
 * distribution (JS distance, standardized mean difference, variance ratio), of the post-BN one, the change of
 * flat-region shares and dead channels, the comparison rules, and the layer where the shift starts.
 * BN layers are compared on their pre-BN values; for models without BN, the Conv/Gemm/MatMul outputs.
 */
export function compareReports(a: Report, b: Report, options: CompareOptions): ComparisonReport {
  const names = options.names ?? ["report A", "report B"];
  checkComparable(a, b, names);
  const t = withCompareDefaults(options.thresholds);
  const layers: LayerComparisonJson[] = a.layers.length
    ? a.layers.map((la, i) => {
        const lb = b.layers[i];
        return compareLayer(
          la.index,
          "bn",
          bnSide(la),
          bnSide(lb),
          {
            activation: la.activation.op,
            saturationKind: la.saturation.kind,
            flatRegion: la.activation.flatRegion.intervals,
            running: { mean: la.running.mean, var: la.running.var, epsilon: la.epsilon },
          },
          t,
        );
      })
    : a.activations.map((aa, i) =>
        compareLayer(
          aa.index,
          "activation",
          activationSide(aa),
          activationSide(b.activations[i]),
          {
            activation: aa.activation.op,
            saturationKind: aa.saturation.kind,
            flatRegion: aa.activation.flatRegion.intervals,
            running: null,
          },
          t,
        ),
      );
  const start = layers.find((l) => l.drifting) ?? null;
  const firstIndex = layers[0]?.index ?? 0;
  const findings: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const l of layers) {
    const found = [start ? domainShift(l, start, firstIndex, t) : null, newDeadChannel(l), saturationChange(l, t)].filter(
      (f): f is CompareFindingJson => f !== null,
    );
    l.findings = found;
    l.severity = found.reduce<Severity | null>((s, f) => (s === null || RANK[f.severity] > RANK[s] ? f.severity : s), null);
    for (const f of found) findings[f.severity]++;
  }
  return {
    schemaVersion: COMPARISON_SCHEMA_VERSION,
    kind: "bn-lens-comparison",
    generator: { name: "bn-lens", version: options.generatorVersion },
    createdAt: options.createdAt ?? new Date().toISOString(),
    model: { path: a.model.path, name: a.model.name, sha256: a.model.sha256, bnCount: a.model.bnCount, fusedAway: a.model.fusedAway },
    a: sideOf(a, options.reportPaths?.[0]),
    b: sideOf(b, options.reportPaths?.[1]),
    thresholds: t,
    histogram: {
      name: a.histogram.name,
      bucketsPerOctave: a.histogram.bucketsPerOctave,
      minExponent: a.histogram.minExponent,
      maxExponent: a.histogram.maxExponent,
      bucketCount: a.histogram.bucketCount,
    },
    layers,
    shiftStart: start && start.pre.score !== null ? { index: start.index, node: start.node, score: start.pre.score } : null,
    summary: { layers: layers.length, drifting: layers.filter((l) => l.drifting).length, findings },
  };
}

/** Rejects JSON that is not a BN Lens comparison this version can read. */
export function checkComparison(value: unknown, what: string): ComparisonReport {
  const r = value as Partial<ComparisonReport> | null;
  if (!r || typeof r !== "object" || r.kind !== "bn-lens-comparison" || !Array.isArray(r.layers)) {
    throw new UserError("data", `${what} is not a BN Lens comparison; pass a file written by "bn-lens compare --json".`);
  }
  if (r.schemaVersion !== COMPARISON_SCHEMA_VERSION) {
    throw new UserError(
      "data",
      `${what} has comparison schema version ${String(r.schemaVersion)}, and this BN Lens reads version ${COMPARISON_SCHEMA_VERSION}; compare the reports again with this version.`,
    );
  }
  return r as ComparisonReport;
}
