/**
 * SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format) from a BN Lens report, for GitHub code
 * scanning and VS Code's SARIF viewer. One result per finding, the model file as its location; the rules
 * carry the README's help text. Only the fields BN Lens fills are typed here.
 */
import type { RuleId, Severity, WarningJson } from "../report";
import type { ReportOutline } from "../inspect/reportOutline";

/** The SARIF schema this writer targets (the one GitHub code scanning documents). */
export const SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json";

/** A SARIF message: plain text, optionally Markdown. */
export interface SarifMessage {
  text: string;
  markdown?: string;
}

/** One rule of the tool's driver (reportingDescriptor). */
export interface SarifRule {
  id: string;
  name: string;
  shortDescription: SarifMessage;
  fullDescription: SarifMessage;
  help: SarifMessage;
  helpUri?: string;
  defaultConfiguration: { level: SarifLevel };
  properties: { tags: string[] };
}

/** SARIF's result levels ("note" is BN Lens's "info"). */
export type SarifLevel = "error" | "warning" | "note";

/** One finding (result). */
export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: SarifMessage;
  locations: {
    physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string; index: number }; region: { startLine: number } };
    logicalLocations?: { name: string; fullyQualifiedName: string; kind: string }[];
  }[];
  partialFingerprints: Record<string, string>;
  properties: { layer?: string; channel?: number; channels?: number[]; value?: number; threshold?: number };
}

/** A whole SARIF log with one run. */
export interface SarifLog {
  $schema: string;
  version: "2.1.0";
  runs: {
    tool: { driver: { name: string; version: string; semanticVersion: string; informationUri?: string; rules: SarifRule[] } };
    artifacts: { location: { uri: string; uriBaseId?: string }; length: number; hashes: Record<string, string> }[];
    results: SarifResult[];
    properties: { samples: number; data: string; precision: string };
  }[];
}

/** Where the model file is, as SARIF wants it: a URI relative to a base (the checkout) or an absolute file URI. */
export interface SarifArtifact {
  uri: string;
  /** "%SRCROOT%" for a path relative to the repository root; absent for an absolute file:// URI. */
  uriBaseId?: string;
}

interface RuleText {
  name: string;
  short: string;
  full: string;
  help: string;
  level: Severity;
}

// The same words as README "Warnings": what fires the rule, and what to look at.
const RULES: Record<RuleId, RuleText> = {
  "mean-shift": {
    name: "StaleRunningMean",
    short: "Running mean does not match the data",
    full: "The observed pre-BN mean of a channel is |z| running standard deviations away from the stored running mean (z = (mean - running_mean) / sqrt(running_var + eps)). Warning at |z| >= 1, error at |z| >= 3 (configurable).",
    help: "Likely causes: the running statistics are stale (not updated after fine-tuning), the data differs from the training data (domain shift), or the preprocessing differs (mean/std, RGB/BGR, scale). Check the preprocessing first; re-estimate the BN statistics on representative data if it is right.",
    level: "warning",
  },
  "variance-ratio": {
    name: "StaleRunningVariance",
    short: "Running variance does not match the data",
    full: "Observed and stored variance of a channel's pre-BN values differ by the factor r = max(var / running_var, running_var / var). Warning at r >= 2, error at r >= 10 (configurable).",
    help: "Post-BN values are scaled sqrt(r) times wider or narrower than training expected. Likely causes: stale running statistics, a domain shift or a different input scale.",
    level: "warning",
  },
  saturation: {
    name: "SaturatedNonlinearity",
    short: "The nonlinearity after BN is saturated",
    full: "A share of a channel's post-BN values falls in the flat region of the following saturating nonlinearity (sigmoid, tanh, hard sigmoid, clip), where its slope is below 2% of its maximum. Warning at 25%, error at 75% (configurable).",
    help: "Gradients vanish in the flat region and outputs are nearly constant. Likely cause: post-BN values too large (gamma/beta) or shifted inputs.",
    level: "warning",
  },
  "rectifier-off": {
    name: "RectifierAlmostAlwaysOff",
    short: "The rectifier after BN is almost always off",
    full: "95% or more of a channel's post-BN values are on the flat low side of the following rectifier (ReLU-like).",
    help: "Such channels pass little information. Likely cause: beta pushed far negative, or inputs that differ from the training data.",
    level: "warning",
  },
  "dead-channel": {
    name: "DeadChannel",
    short: "Dead channel",
    full: "A channel is dead when |gamma| <= 1e-6, its running variance <= 1e-8, or its post-BN values never leave the flat region of the following nonlinearity on the data.",
    help: "A dead channel passes a constant; it can be pruned, or it points to a training problem.",
    level: "warning",
  },
  "non-finite": {
    name: "NonFiniteValues",
    short: "NaN or infinity reached a BN layer",
    full: "NaN, +Inf or -Inf values reached the layer; they are counted and left out of the statistics.",
    help: "Look for overflow in the layers before (fp16 exports, exploding weights) or non-finite values in the data.",
    level: "error",
  },
  "low-count": {
    name: "LowSampleCount",
    short: "Too few values for reliable statistics",
    full: "Fewer than 100 finite values per channel (configurable): the layer's statistics are unreliable.",
    help: "Run on more samples.",
    level: "info",
  },
  "training-mode": {
    name: "TrainingModeBatchNorm",
    short: "BatchNormalization exported in training mode",
    full: "The BN node has training_mode=1: it normalises with batch statistics instead of its running statistics.",
    help: "Export the model in evaluation mode (model.eval() in PyTorch) so inference uses the running statistics.",
    level: "warning",
  },
  "invalid-parameters": {
    name: "InvalidStoredBatchNormParameters",
    short: "The model stores invalid BN parameters",
    full: "The layer stores a running variance or epsilon below 0, or a NaN or infinite gamma, beta, running mean or running variance. This needs no data.",
    help: "Inference through this layer produces NaN or wrong values whatever the input. Re-export the model from a checkpoint whose BN buffers are valid, or re-estimate the statistics (bn-lens recalibrate).",
    level: "error",
  },
  "bn-in-subgraph": {
    name: "BatchNormInSubgraph",
    short: "BN nodes inside If/Loop/Scan bodies are not measured",
    full: "The model has BatchNormalization nodes inside the bodies of If, Loop or Scan nodes; BN Lens does not measure subgraphs.",
    help: "The BN layers of the main graph are measured as usual; those in subgraphs are named but not checked against data.",
    level: "warning",
  },
  "random-data": {
    name: "RandomInputs",
    short: "The run used random inputs",
    full: "The data was random, so the rules that compare observed with stored statistics (mean shift, variance ratio, saturation and rectifier-off on that data, dead by never active) were not judged.",
    help: "Random inputs check that the model runs and what its stored parameters imply, not whether its statistics fit real data. Run BN Lens on your own data (--data) to judge them.",
    level: "info",
  },
  "expected-flat": {
    name: "TrainingLeftChannelsFlat",
    short: "Stored gamma and beta put a channel in the flat region",
    full: "From gamma and beta alone (post-BN values N(beta, gamma^2), a normal approximation), 95% or more of a channel falls on a rectifier's off side, or 25% or more in a saturating region.",
    help: "This does not depend on data: training left the channel mostly off or saturated. It may be harmless (pruned or unused channels) or a sign of a training problem.",
    level: "info",
  },
  "batch-size": {
    name: "TrainingBatchTooSmall",
    short: "Training batch size too small for stable batch statistics",
    full: "At the training batch size given (--train-batch, bnLens.trainBatchSize), a random batch's mean and std deviate from the population's by more than the tolerance in more than 5% of batches (batch renormalization's d and r).",
    help: "Batch statistics at this size are noisy; consider a larger batch, batch renormalization, GroupNorm, or re-estimating the statistics (bn-lens recalibrate) after training.",
    level: "warning",
  },
  "bn-fused": {
    name: "BatchNormFused",
    short: "The model has no BatchNormalization node",
    full: "BN was folded into the preceding convolutions at export; BN Lens reports activation statistics of Conv/Gemm/MatMul outputs instead.",
    help: "Nothing to fix; export without folding to inspect the BN layers themselves.",
    level: "info",
  },
};

const RULE_IDS = Object.keys(RULES) as RuleId[];

function level(s: Severity): SarifLevel {
  return s === "info" ? "note" : s;
}

/** The rules with their help text, in a fixed order (result.ruleIndex points into it). */
export function sarifRules(): SarifRule[] {
  return RULE_IDS.map((id) => {
    const r = RULES[id];
    return {
      id,
      name: r.name,
      shortDescription: { text: r.short },
      fullDescription: { text: r.full },
      help: { text: `${r.full} ${r.help}`, markdown: `**${r.short}.** ${r.full}\n\n${r.help}` },
      defaultConfiguration: { level: level(r.level) },
      properties: { tags: ["batch-normalization", "onnx"] },
    };
  });
}

function result(w: WarningJson, report: ReportOutline, artifact: SarifArtifact): SarifResult {
  const where = w.layer === undefined ? "" : w.channel === undefined ? `${w.layer}: ` : `${w.layer}, channel ${w.channel}: `;
  const loc: SarifResult["locations"][number] = {
    physicalLocation: {
      artifactLocation: { uri: artifact.uri, ...(artifact.uriBaseId ? { uriBaseId: artifact.uriBaseId } : {}), index: 0 },
      // GitHub code scanning requires region.startLine on every result (its rule GH1003); a model has no
      // lines, so the finding points at the file's start and names the layer in logicalLocations.
      region: { startLine: 1 },
    },
  };
  if (w.layer !== undefined)
    loc.logicalLocations = [{ name: w.layer, fullyQualifiedName: `${report.model.name}/${w.layer}`, kind: "object" }];
  return {
    ruleId: w.rule,
    ruleIndex: RULE_IDS.indexOf(w.rule),
    level: level(w.severity),
    message: { text: where + w.message },
    locations: [loc],
    // Stable across runs of the same model: code scanning matches alerts by rule and layer, not by wording.
    partialFingerprints: { "bnLensFinding/v1": `${w.rule}:${w.layer ?? ""}` },
    properties: {
      ...(w.layer !== undefined ? { layer: w.layer } : {}),
      ...(w.channel !== undefined ? { channel: w.channel } : {}),
      ...(w.channels !== undefined ? { channels: w.channels } : {}),
      ...(w.value !== undefined && Number.isFinite(w.value) ? { value: w.value } : {}),
      ...(w.threshold !== undefined && Number.isFinite(w.threshold) ? { threshold: w.threshold } : {}),
    },
  };
}

/** The SARIF log of a report: every finding (model-level, BN layers, activation layers) as one result. */
export function reportToSarif(report: ReportOutline, artifact: SarifArtifact): SarifLog {
  const warnings = [...report.warnings, ...report.layers.flatMap((l) => l.warnings), ...report.activations.flatMap((a) => a.warnings)];
  return {
    $schema: SARIF_SCHEMA_URI,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: { name: "BN Lens", version: report.generator.version, semanticVersion: report.generator.version, rules: sarifRules() },
        },
        artifacts: [
          {
            location: { uri: artifact.uri, ...(artifact.uriBaseId ? { uriBaseId: artifact.uriBaseId } : {}) },
            length: report.model.sizeBytes,
            hashes: { "sha-256": report.model.sha256 },
          },
        ],
        results: warnings.map((w) => result(w, report, artifact)),
        properties: { samples: report.samples, data: report.data.description, precision: report.run.precision.mode },
      },
    ],
  };
}

/** Severity order for --fail-on: a finding "reaches" a level when it is at least as severe. */
const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/** How many findings of the report are at least as severe as `failOn`. */
export function findingsAtOrAbove(report: ReportOutline, failOn: Severity): number {
  const all = [...report.warnings, ...report.layers.flatMap((l) => l.warnings), ...report.activations.flatMap((a) => a.warnings)];
  return all.filter((w) => RANK[w.severity] >= RANK[failOn]).length;
}
