/**
 * Node data for Google's Model Explorer (google-ai-edge/model-explorer), one file per measure, so BN Lens's
 * findings colour the model graph. The format is Model Explorer's ModelNodeData
 * (src/server/package/src/model_explorer/node_data_builder.py): an object keyed by graph id, each a
 * GraphNodeData { name, results: { nodeId: { value } }, thresholds | gradient }. For ONNX models (the
 * model-explorer-onnx adapter) the graph id is the ONNX graph's name ("<main>" when it has none) and a node's
 * id is its name ("<node_i>" for the i-th node when unnamed).
 */
import type { OnnxModel } from "../onnx/model";
import type { Report, Severity } from "../report";
import type { ReportOutline } from "../inspect/reportOutline";

/** One node's value (NodeDataResult). */
export interface NodeDataResult {
  value: number;
}

/** A colour for values up to `value` (ThresholdItem): the first threshold at or above a value colours it. */
export interface ThresholdItem {
  value: number;
  bgColor: string;
  textColor?: string;
}

/** A colour at a relative position between the smallest (0) and the largest (1) value (GradientItem). */
export interface GradientItem {
  stop: number;
  bgColor: string;
}

/** The node data of one graph (GraphNodeData). */
export interface GraphNodeData {
  name: string;
  results: Record<string, NodeDataResult>;
  thresholds?: ThresholdItem[];
  gradient?: GradientItem[];
}

/** A file Model Explorer loads as node data (ModelNodeData): graph id → GraphNodeData. */
export type ModelNodeData = Record<string, GraphNodeData>;

/** One measure's file. */
export interface NodeDataFile {
  /** File name: "<model>.bn-lens.<measure>.json". */
  fileName: string;
  data: ModelNodeData;
}

const GREEN = "#43a047";
const AMBER = "#ffb300";
const RED = "#e53935";
const BLUE = "#1e88e5";
// Thresholds need an upper bound for the last band; JSON has no Infinity.
const TOP = Number.MAX_VALUE;

/** The graph id Model Explorer's ONNX adapter gives the main graph. */
export function onnxGraphId(model: OnnxModel): string {
  return model.graph.name || "<main>";
}

/** Model Explorer's id of every node, by BN Lens's display name (nodeName). */
export function onnxNodeIds(model: OnnxModel): Map<string, string> {
  const ids = new Map<string, string>();
  model.graph.node.forEach((n, i) => {
    const display = model.nodeName.get(n);
    if (display !== undefined) ids.set(display, n.name || `<node_${i}>`);
  });
  return ids;
}

const SEVERITY_VALUE: Record<Severity, number> = { info: 1, warning: 2, error: 3 };

/** The four node-data files of a report (three for a report whose BN was fused away: no z or variance ratio). */
export function modelExplorerFiles(report: ReportOutline, model: OnnxModel): NodeDataFile[] {
  const graphId = onnxGraphId(model);
  const ids = onnxNodeIds(model);
  const base = report.model.name.replace(/\.onnx$/i, "");
  const t = report.thresholds;
  const file = (
    measure: string,
    name: string,
    values: [string, number | null | undefined][],
    colour: Omit<GraphNodeData, "name" | "results">,
  ) => {
    const results: Record<string, NodeDataResult> = {};
    for (const [node, value] of values) {
      const id = ids.get(node);
      if (id !== undefined && value !== null && value !== undefined && Number.isFinite(value)) results[id] = { value };
    }
    return { fileName: `${base}.bn-lens.${measure}.json`, data: { [graphId]: { name, results, ...colour } } };
  };
  const bands = (warning: number, error: number): ThresholdItem[] => [
    { value: warning, bgColor: GREEN, textColor: "#ffffff" },
    { value: error, bgColor: AMBER, textColor: "#000000" },
    { value: TOP, bgColor: RED, textColor: "#ffffff" },
  ];
  const severityOf = (warnings: Report["warnings"]): number => warnings.reduce((s, w) => Math.max(s, SEVERITY_VALUE[w.severity]), 0);
  const layers = report.layers;
  const acts = report.activations;
  const files: NodeDataFile[] = [];
  if (layers.length) {
    files.push(
      file(
        "worst-abs-z",
        "BN Lens: worst |z| (running mean vs data, in running std)",
        layers.map((l) => [l.node, l.summary.worstZ ? Math.abs(l.summary.worstZ.value) : null]),
        { thresholds: bands(t.meanShift.warning, t.meanShift.error) },
      ),
      file(
        "worst-var-ratio",
        "BN Lens: worst variance ratio (data vs running variance)",
        layers.map((l) => [l.node, l.summary.worstVarRatio?.value]),
        { thresholds: bands(t.varianceRatio.warning, t.varianceRatio.error) },
      ),
    );
  }
  const rows: [string, number | null, Report["warnings"]][] = layers.length
    ? layers.map((l) => [l.node, l.saturation.layerFraction, l.warnings])
    : acts.map((a) => [a.node, a.saturation.layerFraction, a.warnings]);
  files.push(
    file(
      "flat-share",
      "BN Lens: share of values in the following nonlinearity's flat region",
      rows.map(([node, f]) => [node, f]),
      {
        gradient: [
          { stop: 0, bgColor: "#e8f5e9" },
          { stop: 0.5, bgColor: "#ffe082" },
          { stop: 1, bgColor: "#c62828" },
        ],
      },
    ),
    file(
      "severity",
      "BN Lens: severity (0 none, 1 info, 2 warning, 3 error)",
      rows.map(([node, , w]) => [node, severityOf(w)]),
      {
        thresholds: [
          { value: 0, bgColor: GREEN, textColor: "#ffffff" },
          { value: 1, bgColor: BLUE, textColor: "#ffffff" },
          { value: 2, bgColor: AMBER, textColor: "#000000" },
          { value: 3, bgColor: RED, textColor: "#ffffff" },
        ],
      },
    ),
  );
  return files;
}
