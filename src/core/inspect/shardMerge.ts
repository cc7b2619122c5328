/**
 * Merging reports of disjoint shards of the data, one layer at a time: the checks on the reports' heads,
 * then each layer (and activation layer) merged from the shards' copies of it, then what needs every layer
 * (the batch-size study, the summary counts), gathered from small per-layer results on the way. Both the
 * in-memory merge (mergeReports) and the streaming one (mergedReportPieces) run through ShardMerge, so they
 * give the same report.
 */
import { UserError } from "../errors";
import { checkShards } from "../inputs/shard";
import type {
  ActivationLayerReport,
  BatchStudyJson,
  BatchStudyLayerJson,
  LayerReport,
  Report,
  Severity,
  Thresholds,
  WarningJson,
} from "../report";
import type { ReportHead } from "../reportSchema";
import { ChannelStats } from "../stats/accumulator";
import { BATCH_STUDY_METHOD, studyLayer } from "../stats/batchStudy";
import { SampleMoments } from "../stats/sampleMoments";
import { isSyntheticKind, randomDataWarning, withBatchFinding } from "./dataEvidence";
import { blameLayer, bnLayerReport, nextCulprit, probeReport } from "./inspection";

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

const nameOf = (names: readonly string[], i: number) => names[i] ?? `report ${i + 1}`;

/** Refuses heads that cannot be merged: the same run twice, the same data source twice, another model or scheme. */
export function checkMergeHeads(heads: readonly ReportHead[], names: readonly string[]): void {
  if (heads.length === 0) throw new UserError("usage", "merge needs at least one report.");
  const [first] = heads;
  const shardOwner = new Map<string, number>();
  const sourceOwner = new Map<string, { i: number; shard: Report["run"]["shard"] }[]>();
  heads.forEach((r, i) => {
    const what = nameOf(names, i);
    for (const shard of r.run.shards.length ? r.run.shards : [r.id]) {
      const j = shardOwner.get(shard);
      if (j !== undefined && j !== i) {
        throw new UserError(
          "data",
          `${what} and ${nameOf(names, j)} cover the same run (id ${shard.slice(0, 12)}…: same model, data and seed); merging them would count those samples twice.`,
        );
      }
      shardOwner.set(shard, i);
    }
    for (const source of new Set(r.data.sources)) {
      // Shards of one split (inspect --shard i/n) read the same file but disjoint samples of it.
      const mine = r.run.shard;
      const clash = (sourceOwner.get(source) ?? []).find(
        (o) => o.i !== i && (!mine || !o.shard || (o.shard.index === mine.index && o.shard.count === mine.count)),
      );
      if (clash) {
        throw new UserError(
          "data",
          `${what} and ${nameOf(names, clash.i)} both read ${source}; merge reports of disjoint shards of the data only, or samples are counted twice.`,
        );
      }
      sourceOwner.set(source, [...(sourceOwner.get(source) ?? []), { i, shard: mine }]);
    }
    if (r.model.sha256 !== first.model.sha256) {
      throw new UserError(
        "data",
        `${what} was made from a different model (${r.model.name}, sha256 ${r.model.sha256.slice(0, 12)}…) than ${names[0] ?? "the first report"} (${first.model.name}, ${first.model.sha256.slice(0, 12)}…); merge reports of the same model only.`,
      );
    }
    if (r.histogram.bucketCount !== first.histogram.bucketCount || r.histogram.name !== first.histogram.name) {
      throw new UserError("data", `${what} uses a different histogram scheme; re-run both inspections with the same BN Lens version.`);
    }
    if (r.thresholds.slopeFraction !== first.thresholds.slopeFraction) {
      throw new UserError(
        "data",
        `${what} measured saturation with slope fraction ${r.thresholds.slopeFraction}, ${names[0] ?? "the first report"} with ${first.thresholds.slopeFraction}; merge reports made with the same settings.`,
      );
    }
  });
}

/** The sentence for reports whose layer lists differ in length: `i` is the report that differs from the first. */
export function differentLayersError(names: readonly string[], i: number): UserError {
  return new UserError(
    "data",
    `${nameOf(names, i)} has a different set of layers than the first report; merge reports of the same model only.`,
  );
}

// A merged report covers the shards together; it is no longer one shard.
function withoutShard(run: Report["run"]): Report["run"] {
  const { shard: _shard, ...rest } = run;
  return rest;
}

/**
 * The id of a merged report: 128 bits of FNV-1a (four 32-bit lanes with different offsets) over its sorted
 * shard ids, so merging the same shards in any order gives the same id. Core has no crypto; this id only
 * names the merge, while duplicate detection compares the shard ids themselves.
 */
export function mergedId(shards: readonly string[]): string {
  const text = [...shards].sort().join("+");
  let out = "";
  for (const offset of [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b]) {
    let h = offset >>> 0;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, "0");
  }
  return out;
}

/** The head fields a merge changes (the others are the first report's). */
export type MergedHead = Pick<Report, "id" | "createdAt" | "data" | "samples" | "run">;

/** The fields a merge computes from every layer: written after them. */
export type MergedTail = Pick<Report, "warnings" | "batchStudy" | "summary">;

/**
 * One merge of reports, layer by layer: construct it with the reports' heads (checked at once), then give
 * it layer i of every report for i = 0, 1, ... (`layer`), then each activation layer in order (`activation`), then
 * call `tail` with the first report's model-level findings. It keeps only small per-layer results.
 */
export class ShardMerge {
  readonly head: MergedHead;
  private readonly first: ReportHead;
  private readonly thresholds: Thresholds;
  private readonly synthetic: boolean;
  private culprit: string | undefined;
  private readonly study: BatchStudyLayerJson[] = [];
  private studySamples = 0;
  private readonly counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  private layerCount = 0;
  private layerChannels = 0;
  private activationCount = 0;
  private activationChannels = 0;

  constructor(
    heads: readonly ReportHead[],
    private readonly names: readonly string[],
    createdAt = new Date().toISOString(),
  ) {
    checkMergeHeads(heads, names);
    const first = heads[0];
    this.first = first;
    const partial = checkShards(
      heads.map((r) => r.run.shard),
      names,
    );
    this.thresholds = first.thresholds;
    const kind = [...new Set(heads.map((r) => r.data.kind))].join("+");
    this.synthetic = isSyntheticKind(kind);
    const descriptions = [...new Set(heads.map((r) => r.data.description))];
    const shards = heads.flatMap((r) => (r.run.shards.length ? r.run.shards : [r.id]));
    this.head = {
      id: mergedId(shards),
      createdAt,
      data: {
        kind,
        synthetic: this.synthetic,
        description:
          (descriptions.length === 1 ? descriptions[0] : `${heads.length} shards: ${descriptions.join("; ")}`) +
          (partial ? `; ${partial}` : ""),
        sources: heads.flatMap((r) => r.data.sources),
      },
      samples: heads.reduce((s, r) => s + r.samples, 0),
      run: {
        ...withoutShard(first.run),
        elapsedMs: heads.reduce((s, r) => s + r.run.elapsedMs, 0),
        runs: heads.reduce((s, r) => s + r.run.runs, 0),
        shards,
      },
    };
  }

  /** Merges layer `i`, given every report's copy of it (in the order of the heads). */
  layer(i: number, copies: readonly LayerReport[]): LayerReport {
    const [l0] = copies;
    const thresholds = this.thresholds;
    // Per-sample moments merge only when every shard has them (else the merged ones would miss samples).
    const perSampleAll = copies.every((l) => l.perSample);
    const pre = ChannelStats.fromJson(l0.pre);
    if (perSampleAll) pre.perSample = SampleMoments.fromJson(l0.perSample!);
    const post = ChannelStats.fromJson(l0.post, l0.saturation.countByInterval);
    let rank = l0.rank;
    for (const l of copies.slice(1)) {
      // Per-sample moments are taken about the running mean: their centres must agree too.
      const centres = perSampleAll && !sameNumbers(l.perSample!.center, l0.perSample!.center);
      if (l.node !== l0.node || !sameNumbers(l.gamma, l0.gamma) || !sameNumbers(l.running.mean, l0.running.mean) || centres) {
        throw new UserError(
          "data",
          `Layer ${i} differs between the reports (${l.node} vs ${l0.node}); merge reports of the same model only.`,
        );
      }
      const shard = ChannelStats.fromJson(l.pre);
      if (perSampleAll) shard.perSample = SampleMoments.fromJson(l.perSample!);
      pre.merge(shard);
      post.merge(ChannelStats.fromJson(l.post, l.saturation.countByInterval));
      rank = rank || l.rank;
    }
    const measured = bnLayerReport(
      {
        index: l0.index,
        name: l0.node,
        input: l0.input,
        output: l0.output,
        channels: l0.channels,
        epsilon: l0.epsilon,
        gamma: Float64Array.from(l0.gamma),
        beta: Float64Array.from(l0.beta),
        runningMean: Float64Array.from(l0.running.mean),
        runningVar: Float64Array.from(l0.running.var),
        producer: l0.producer,
        trainingMode: l0.warnings.some((w) => w.rule === "training-mode"),
      },
      l0.activation,
      pre,
      post,
      rank,
      thresholds,
      // Shards measured the same way share the sampling; a mix of sampled and exact shards is still sampled.
      copies.map((l) => l.sampling).find((s) => s) ?? null,
      { synthetic: this.synthetic },
    );
    // Non-finite values downstream of the first layer storing invalid parameters are blamed on it.
    const judged = blameLayer(measured, this.culprit);
    this.culprit = nextCulprit(measured, this.culprit);
    const studied = this.studyOf(judged);
    const layer = withBatchFinding(judged, this.synthetic ? undefined : studied, thresholds.batchTolerance, this.first.run.trainBatch);
    this.layerCount++;
    this.layerChannels += layer.channels;
    for (const w of layer.warnings) this.counts[w.severity]++;
    return layer;
  }

  /** The batch-size study of one merged layer (studyOf in buildReport.ts, one layer), kept for the report's study. */
  private studyOf(l: LayerReport): BatchStudyLayerJson | undefined {
    if (!l.perSample) return undefined;
    const t = this.thresholds;
    // A channel BN turns into a constant (gamma ≈ 0, running var ≈ 0) does not depend on its batch statistics.
    const skip = (c: number) => Math.abs(l.gamma[c]) <= t.deadGamma || l.running.var[c] <= t.deadRunningVar;
    const s = studyLayer(l.node, SampleMoments.fromJson(l.perSample), t.batchTolerance, skip);
    this.study.push(s);
    for (const n of l.perSample.n) this.studySamples = Math.max(this.studySamples, n);
    return s;
  }

  /** Merges activation layer `i` (the Conv/Gemm/MatMul outputs of a model without BN), given every report's copy. */
  activation(copies: readonly ActivationLayerReport[]): ActivationLayerReport {
    const [a0] = copies;
    const stats = ChannelStats.fromJson(a0.stats, a0.saturation.countByInterval);
    for (const a of copies.slice(1)) stats.merge(ChannelStats.fromJson(a.stats, a.saturation.countByInterval));
    const merged = probeReport(
      { index: a0.index, name: a0.node, op: a0.op, output: a0.output },
      a0.activation,
      stats,
      a0.channelAxis,
      this.thresholds,
    );
    this.activationCount++;
    this.activationChannels += merged.channels;
    // The summary counts activation layers' findings only when there are no BN layers (summarise in buildReport.ts).
    if (this.layerCount === 0) for (const w of merged.warnings) this.counts[w.severity]++;
    return merged;
  }

  /** What needs every layer, once all were merged: the model-level findings, the batch-size study, the summary. */
  tail(firstWarnings: readonly WarningJson[]): MergedTail {
    const rest = firstWarnings.filter((w) => w.rule !== "random-data");
    const warnings = this.synthetic ? [randomDataWarning(), ...rest] : rest;
    const counts = { ...this.counts };
    for (const w of warnings) counts[w.severity]++;
    const batchStudy: BatchStudyJson | null = this.study.length
      ? { tolerance: this.thresholds.batchTolerance, samples: this.studySamples, method: BATCH_STUDY_METHOD, layers: this.study }
      : null;
    const byLayers = this.layerCount > 0;
    return {
      warnings,
      batchStudy,
      summary: {
        layers: byLayers ? this.layerCount : this.activationCount,
        channels: byLayers ? this.layerChannels : this.activationChannels,
        warnings: counts,
      },
    };
  }

  /** The sentence for a report whose layer list differs in length from the first's (report `i`). */
  differentLayers(i: number): UserError {
    return differentLayersError(this.names, i);
  }
}

/**
 * Merges reports of disjoint shards of the data into the report of one run over all of it: counts and
 * histograms add, means and variances combine exactly (Chan's update, float64), minima and maxima
 * combine, and the rule list runs again on the merged statistics. Thresholds come from the first report.
 */
export function mergeReports(reports: readonly Report[], names: readonly string[], createdAt?: string): Report {
  const merge = new ShardMerge(reports, names, createdAt);
  const [first] = reports;
  const differs = reports.findIndex((r) => r.layers.length !== first.layers.length || r.activations.length !== first.activations.length);
  if (differs >= 0) throw merge.differentLayers(differs);
  const layers = first.layers.map((_, i) =>
    merge.layer(
      i,
      reports.map((r) => r.layers[i]),
    ),
  );
  const activations = first.activations.map((_, i) => merge.activation(reports.map((r) => r.activations[i])));
  return { ...first, ...merge.head, layers, activations, ...merge.tail(first.warnings) };
}
