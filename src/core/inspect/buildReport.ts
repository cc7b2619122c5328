import {
  REPORT_SCHEMA_VERSION,
  type InputJson,
  type LayerReport,
  type PrecisionJson,
  type Report,
  type ShardJson,
  type Severity,
  type Thresholds,
} from "../report";
import { batchStudy } from "../stats/batchStudy";
import { histogramScheme } from "../stats/histogram";
import { findSubgraphBn } from "../graph/bnLayers";
import { SampleMoments } from "../stats/sampleMoments";
import { isSyntheticKind, randomDataWarning, withBatchFindings } from "./dataEvidence";
import { blameUpstreamInvalid, modelStatement, type Inspection } from "./inspection";

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
