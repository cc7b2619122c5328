// How a report is written as JSON. Objects get one line per field, arrays of numbers one line each: the
// same JSON as before, a third of the bytes of a fully indented file and a few thousand lines instead of
// a million (VS Code opens it without its large-file mode). `histograms: "layer"` also leaves out the
// per-channel histograms (about 60% of what remains) for reports that only need to be read, not merged.
import { UserError } from "../errors";
import type { ActivationLayerReport, HistogramJson, LayerReport, Report } from "../report";

/** Which histograms a written report keeps: per channel and pooled (default, what merge needs), or pooled only. */
export type HistogramDetail = "per-channel" | "layer";

function isFlat(a: readonly unknown[]): boolean {
  return a.every((v) => v === null || typeof v !== "object");
}

/**
 * The pieces of compactJson's text, in order: a large report (hundreds of layers of thousands of channels)
 * is written piece by piece, so its text never has to exist as one string (which runs out of memory).
 */
export function* compactJsonPieces(value: unknown, indent = 1): Generator<string> {
  yield* compactJsonPiecesAt(value, 0, indent);
}

/**
 * compactJsonPieces of a value written `depth` levels deep in a larger text (its nested lines are indented
 * for that depth): how a streamed report writes each of its layers as a part of the whole file.
 */
export function* compactJsonPiecesAt(value: unknown, depth: number, indent = 1): Generator<string> {
  const pad = (depth: number) => "\n" + " ".repeat(depth * indent);
  function* write(v: unknown, depth: number): Generator<string> {
    if (v === null || typeof v !== "object") {
      yield JSON.stringify(v) ?? "null";
      return;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) yield "[]";
      else if (isFlat(v)) yield JSON.stringify(v);
      else {
        yield "[";
        for (const [i, x] of v.entries()) {
          yield (i ? "," : "") + pad(depth + 1);
          yield* write(x, depth + 1);
        }
        yield pad(depth) + "]";
      }
      return;
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined && typeof x !== "function");
    if (entries.length === 0) {
      yield "{}";
      return;
    }
    yield "{";
    for (const [i, [k, x]] of entries.entries()) {
      yield `${i ? "," : ""}${pad(depth + 1)}${JSON.stringify(k)}: `;
      yield* write(x, depth + 1);
    }
    yield pad(depth) + "}";
  }
  yield* write(value, depth);
}

/** The pieces of a JSON file: compactJsonPieces and the final newline. */
export function* jsonFilePieces(value: unknown): Generator<string> {
  yield* compactJsonPieces(value);
  yield "\n";
}

/** JSON with nested structure indented and every array of plain values on one line. */
export function compactJson(value: unknown, indent = 1): string {
  let text = "";
  for (const piece of compactJsonPieces(value, indent)) text += piece;
  return text;
}

const layerOnly = (h: HistogramJson): HistogramJson => ({ first: h.first, total: h.total, perChannel: [] });

/** The report with its per-channel histograms left out (`perChannel: []`; pooled `total` kept). */
export function withLayerHistograms(r: Report): Report {
  return {
    ...r,
    layers: r.layers.map((l) => ({
      ...l,
      pre: { ...l.pre, histogram: layerOnly(l.pre.histogram) },
      post: { ...l.post, histogram: layerOnly(l.post.histogram) },
    })),
    activations: r.activations.map((a) => ({ ...a, stats: { ...a.stats, histogram: layerOnly(a.stats.histogram) } })),
  };
}

const full = (h: HistogramJson, channels: number) => channels === 0 || h.perChannel.length === channels;

/** Whether every layer of a report keeps its per-channel histograms (merge recounts saturation from them). */
export function hasPerChannelHistograms(r: Report): boolean {
  return (
    r.layers.every((l) => full(l.pre.histogram, l.channels) && full(l.post.histogram, l.channels)) &&
    r.activations.every((a) => full(a.stats.histogram, a.channels))
  );
}

/** The text of a report as BN Lens writes it (CLI --json, Export Report). */
export function reportJson(r: Report, o: { histograms?: HistogramDetail } = {}): string {
  return compactJson(o.histograms === "layer" ? withLayerHistograms(r) : r) + "\n";
}

/** reportJson's text in pieces (compactJsonPieces), for writing a report too large for one string. */
export function* reportJsonPieces(r: Report, o: { histograms?: HistogramDetail } = {}): Generator<string> {
  yield* jsonFilePieces(o.histograms === "layer" ? withLayerHistograms(r) : r);
}

/** Refuses to merge reports written without per-channel histograms, naming the file. */
export function checkMergeable(r: Report, file: string): void {
  if (!hasPerChannelHistograms(r)) throw notMergeable(file);
}

/** checkMergeable for one layer (or activation layer) of a report read layer by layer. */
export function checkLayerMergeable(l: LayerReport | ActivationLayerReport, file: string): void {
  const ok = "stats" in l ? full(l.stats.histogram, l.channels) : full(l.pre.histogram, l.channels) && full(l.post.histogram, l.channels);
  if (!ok) throw notMergeable(file);
}

function notMergeable(file: string): UserError {
  return new UserError(
    "data",
    `${file} was written with --histograms layer, without the per-channel histograms merge needs to recount saturation; write it again with --histograms per-channel (the default).`,
  );
}
