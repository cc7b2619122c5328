import { UserError } from "../errors";
import { checkShards } from "../inputs/shard";
import {
  REPORT_SCHEMA_VERSION,
  type ActivationLayerReport,
  type InputJson,
  type LayerReport,
  type PrecisionJson,
  type Report,
  type ShardJson,
  type Severity,
  type Thresholds,
} from "../report";
import { ChannelStats } from "../stats/accumulator";
import { batchStudy } from "../stats/batchStudy";
import { histogramScheme } from "../stats/histogram";
import { findSubgraphBn } from "../graph/bnLayers";
import { SampleMoments } from "../stats/sampleMoments";
import { isSyntheticKind, randomDataWarning, withBatchFindings } from "./dataEvidence";
import { blameUpstreamInvalid, bnLayerReport, modelStatement, probeReport, type Inspection } from "./inspection";

/** Facts about the run that the inspection itself does not know. */
export interface RunFacts {
  /** The run identity (Report.id), made by the runtime from the model and the data. */
  id: string;
  generatorVersion: string;
  onnxruntimeVersion: string;
  modelPath: string;
  modelName: string;
  sizeBytes: number;
  sha256: string;
  inputs: InputJson[];
  notes: string[];
  data: Omit<Report["data"], "synthetic">;
  /** The training batch size to judge (--train-batch), if given. */
  trainBatch?: number;
  batchSize: number;
  seed: number;
  elapsedMs: number;
  precision: PrecisionJson;
  shard?: ShardJson;
  createdAt: string;
}

function summarise(
  layers: readonly { warnings: Report["warnings"]; channels: number }[],
  modelWarnings: Report["warnings"],
): Report["summary"] {
  const warnings: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  let channels = 0;
  for (const l of layers) {
    channels += l.channels;
    for (const w of l.warnings) warnings[w.severity]++;
  }
  for (const w of modelWarnings) warnings[w.severity]++;
  return { layers: layers.length, channels, warnings };
}

/** The batch-size study of report layers, from their per-sample moments (constant and dead channels left out). */
export function studyOf(layers: readonly LayerReport[], t: Thresholds): Report["batchStudy"] {
  return batchStudy(
    layers.map((l) => ({
      node: l.node,
      sm: l.perSample ? SampleMoments.fromJson(l.perSample) : null,
      // A channel BN turns into a constant (gamma ≈ 0, running var ≈ 0) does not depend on its batch statistics.
      skip: (c: number) => Math.abs(l.gamma[c]) <= t.deadGamma || l.running.var[c] <= t.deadRunningVar,
    })),
    t.batchTolerance,
  );
}

/** Model-level findings that depend on the data kind, then the rest. */
function modelWarnings(synthetic: boolean, warnings: Report["warnings"]): Report["warnings"] {
  return synthetic ? [randomDataWarning(), ...warnings] : warnings;
}

/** Assembles the full report of one inspection. */
export function buildReport(inspection: Inspection, facts: RunFacts): Report {
  const synthetic = isSyntheticKind(facts.data.kind);
  const trainBatch = facts.trainBatch ?? null;
  const judged = blameUpstreamInvalid(inspection.layerReports({ synthetic }));
  const study = studyOf(judged, inspection.thresholds);
  const layers = withBatchFindings(judged, synthetic ? null : study, trainBatch);
  const activations = inspection.activationReports();
  const subgraphBn = findSubgraphBn(inspection.model);
  const stated = modelStatement(layers, inspection.probes.length, subgraphBn);
  const statement = stated.statement;
  const warnings = modelWarnings(synthetic, stated.warnings);
  const m = inspection.model;
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    id: facts.id,
    generator: { name: "bn-lens", version: facts.generatorVersion, onnxruntime: facts.onnxruntimeVersion },
    createdAt: facts.createdAt,
    model: {
      path: facts.modelPath,
      name: facts.modelName,
      sizeBytes: facts.sizeBytes,
      sha256: facts.sha256,
      producer: m.producer,
      irVersion: m.irVersion,
      opset: m.opset,
      nodeCount: m.graph.node.length,
      inputs: facts.inputs,
      outputs: m.outputs,
      bnCount: layers.length,
      fusedAway: layers.length === 0 && subgraphBn.length === 0,
      statement,
      notes: facts.notes,
    },
    data: { ...facts.data, synthetic },
    samples: inspection.samples,
    run: {
      batchSize: facts.batchSize,
      seed: facts.seed,
      elapsedMs: facts.elapsedMs,
      runs: 1,
      shards: [facts.id],
      precision: facts.precision,
      trainBatch,
      ...(facts.shard ? { shard: facts.shard } : {}),
    },
    thresholds: inspection.thresholds,
    histogram: histogramScheme(),
    layers,
    activations,
    warnings,
    batchStudy: study,
    summary: summarise(layers.length ? layers : activations, warnings),
  };
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

/**
 * Merges reports of disjoint shards of the data into the report of one run over all of it: counts and
 * histograms add, means and variances combine exactly (Chan's update, float64), minima and maxima
 * combine, and the rule list runs again on the merged statistics. Thresholds come from the first report.
 */
export function mergeReports(reports: readonly Report[], names: readonly string[]): Report {
  if (reports.length === 0) throw new UserError("usage", "merge needs at least one report.");
  const [first] = reports;
  const shardOwner = new Map<string, number>();
  const sourceOwner = new Map<string, { i: number; shard: Report["run"]["shard"] }[]>();
  reports.forEach((r, i) => {
    const what = names[i] ?? `report ${i + 1}`;
    for (const shard of r.run.shards.length ? r.run.shards : [r.id]) {
      const j = shardOwner.get(shard);
      if (j !== undefined && j !== i) {
        throw new UserError(
          "data",
          `${what} and ${names[j] ?? `report ${j + 1}`} cover the same run (id ${shard.slice(0, 12)}…: same model, data and seed); merging them would count those samples twice.`,
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
          `${what} and ${names[clash.i] ?? `report ${clash.i + 1}`} both read ${source}; merge reports of disjoint shards of the data only, or samples are counted twice.`,
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
    if (r.layers.length !== first.layers.length || r.activations.length !== first.activations.length) {
      throw new UserError("data", `${what} has a different set of layers than the first report; merge reports of the same model only.`);
    }
  });
  const partial = checkShards(
    reports.map((r) => r.run.shard),
    names,
  );
  const thresholds: Thresholds = first.thresholds;
  const kind = [...new Set(reports.map((r) => r.data.kind))].join("+");
  const synthetic = isSyntheticKind(kind);
  // Per-sample moments merge only when every shard has them (else the merged ones would miss samples).
  const perSampleAll = (i: number) => reports.every((r) => r.layers[i].perSample);
  const measured: LayerReport[] = first.layers.map((l0, i) => {
    const pre = ChannelStats.fromJson(l0.pre);
    if (perSampleAll(i)) pre.perSample = SampleMoments.fromJson(l0.perSample!);
    const post = ChannelStats.fromJson(l0.post, l0.saturation.countByInterval);
    let rank = l0.rank;
    for (const r of reports.slice(1)) {
      const l = r.layers[i];
      if (l.node !== l0.node || !sameNumbers(l.gamma, l0.gamma) || !sameNumbers(l.running.mean, l0.running.mean)) {
        throw new UserError(
          "data",
          `Layer ${i} differs between the reports (${l.node} vs ${l0.node}); merge reports of the same model only.`,
        );
      }
      const shard = ChannelStats.fromJson(l.pre);
      if (perSampleAll(i)) shard.perSample = SampleMoments.fromJson(l.perSample!);
      pre.merge(shard);
      post.merge(ChannelStats.fromJson(l.post, l.saturation.countByInterval));
      rank = rank || l.rank;
    }
    return bnLayerReport(
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
      reports.map((r) => r.layers[i].sampling).find((s) => s) ?? null,
      { synthetic },
    );
  });
  const judged = blameUpstreamInvalid(measured);
  const study = studyOf(judged, thresholds);
  const layers = withBatchFindings(judged, synthetic ? null : study, first.run.trainBatch);
  const warnings = modelWarnings(
    synthetic,
    first.warnings.filter((w) => w.rule !== "random-data"),
  );
  const activations: ActivationLayerReport[] = first.activations.map((a0, i) => {
    const stats = ChannelStats.fromJson(a0.stats, a0.saturation.countByInterval);
    for (const r of reports.slice(1))
      stats.merge(ChannelStats.fromJson(r.activations[i].stats, r.activations[i].saturation.countByInterval));
    return probeReport({ index: a0.index, name: a0.node, op: a0.op, output: a0.output }, a0.activation, stats, a0.channelAxis, thresholds);
  });
  const samples = reports.reduce((s, r) => s + r.samples, 0);
  const descriptions = [...new Set(reports.map((r) => r.data.description))];
  const shards = reports.flatMap((r) => (r.run.shards.length ? r.run.shards : [r.id]));
  return {
    ...first,
    id: mergedId(shards),
    createdAt: new Date().toISOString(),
    data: {
      kind,
      synthetic,
      description:
        (descriptions.length === 1 ? descriptions[0] : `${reports.length} shards: ${descriptions.join("; ")}`) +
        (partial ? `; ${partial}` : ""),
      sources: reports.flatMap((r) => r.data.sources),
    },
    samples,
    run: {
      ...withoutShard(first.run),
      elapsedMs: reports.reduce((s, r) => s + r.run.elapsedMs, 0),
      runs: reports.reduce((s, r) => s + r.run.runs, 0),
      shards,
    },
    layers,
    activations,
    warnings,
    batchStudy: study,
    summary: summarise(layers.length ? layers : activations, warnings),
  };
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
