/**
 * The streaming merge: reports read layer by layer (StreamedReport), merged layer by layer (ShardMerge) and
 * written out as text pieces as they are merged, so a merge holds one layer of each report at a time, never
 * a whole report. The text is what mergeReports' report gives through jsonFilePieces, byte for byte.
 */
import { isUserError } from "../errors";
import type { ActivationLayerReport, LayerReport } from "../report";
import { checkLayerMergeable, compactJsonPiecesAt } from "./reportJson";
import { activationOutline, layerOutline, type ActivationOutline, type LayerOutline, type ReportOutline } from "./reportOutline";
import type { StreamedReport } from "./reportStream";
import { ShardMerge, differentLayersError } from "./shardMerge";

// The fields written in their own step (streamed arrays) or computed from every layer (written after them).
const STREAMED = new Set(["layers", "activations"]);
const FROM_LAYERS = new Set(["warnings", "batchStudy", "summary"]);

/**
 * One streaming merge of `sources` (named `names` in sentences). `pieces()` yields the merged report's file
 * text (give it to an atomic writer: any refusal is thrown from it, before the file is complete); `outline`
 * is set once the pieces are all out.
 */
export class StreamingMerge {
  /** The merged report without its per-channel data, once pieces() has finished. */
  outline: ReportOutline | undefined;

  constructor(
    private readonly sources: readonly StreamedReport[],
    private readonly names: readonly string[],
    private readonly createdAt?: string,
  ) {}

  /**
   * The merged report's text, in pieces (jsonFilePieces' layout: compact JSON and a final newline). A
   * refusal is the one the in-memory merge of the whole reports gives: when one is met halfway, the rest
   * of the reports is read to find whether reading them whole would have refused something else first.
   */
  *pieces(): Generator<string> {
    const stage = { headsMerged: false };
    try {
      yield* this.write(stage);
    } catch (e) {
      throw this.firstRefusal(e, stage.headsMerged);
    }
  }

  private firstRefusal(met: unknown, headsMerged: boolean): unknown {
    // Each report is read and checked whole (text, schema, per-channel histograms) before any is merged.
    for (const [k, s] of this.sources.entries()) {
      const e = s.firstError((l) => checkLayerMergeable(l, this.names[k]));
      if (e) return e;
    }
    // Then the heads are compared, then the numbers of layers, then the layers one by one.
    if (headsMerged && isUserError(met)) {
      const counts = this.sources.map((s) => s.counts());
      const k = counts.findIndex((c) => c.layers !== counts[0].layers || c.activations !== counts[0].activations);
      if (k >= 0) return differentLayersError(this.names, k);
    }
    return met;
  }

  private *write(stage: { headsMerged: boolean }): Generator<string> {
    const sources = this.sources;
    const merge = new ShardMerge(
      sources.map((s) => s.head()),
      this.names,
      this.createdAt,
    );
    stage.headsMerged = true;
    const first = sources[0];
    first.readToLayers();
    const fields: Record<string, unknown> = {};
    let count = 0;
    function* field(key: string, value: unknown): Generator<string> {
      fields[key] = value;
      if (value === undefined || typeof value === "function") return;
      yield `${count++ ? "," : ""}\n ${JSON.stringify(key)}: `;
      yield* compactJsonPiecesAt(value, 1);
    }
    const headValue = (key: string, value: unknown) => (key in merge.head ? merge.head[key as keyof typeof merge.head] : value);
    yield "{";
    // The first report's fields in its order, as mergeReports' {...first, ...} keeps them; the fields
    // computed from every layer go after the layers.
    for (const [key, value] of Object.entries(first.fields))
      if (!STREAMED.has(key) && !FROM_LAYERS.has(key)) yield* field(key, headValue(key, value));
    const written = new Set(Object.keys(fields));

    const layers: LayerOutline[] = [];
    yield `${count++ ? "," : ""}\n "layers": `;
    yield* this.array(
      () => sources.map((s) => s.nextLayer()),
      (copies: LayerReport[], i) => {
        for (const [k, l] of copies.entries()) this.mergeable(k, l);
        const merged = merge.layer(i, copies);
        layers.push(layerOutline(merged));
        return merged;
      },
      merge,
    );
    const activations: ActivationOutline[] = [];
    yield ',\n "activations": ';
    yield* this.array(
      () => sources.map((s) => s.nextActivation()),
      (copies: ActivationLayerReport[]) => {
        for (const [k, a] of copies.entries()) this.mergeable(k, a);
        const merged = merge.activation(copies);
        activations.push(activationOutline(merged));
        return merged;
      },
      merge,
    );

    const tails = sources.map((s) => s.tail());
    const tail = merge.tail(tails[0].warnings);
    const computed = (key: string, value: unknown) => (key in tail ? tail[key as keyof typeof tail] : headValue(key, value));
    for (const [key, value] of Object.entries(first.fields)) if (!written.has(key)) yield* field(key, computed(key, value));
    yield "\n}\n";
    this.outline = { ...(fields as Omit<ReportOutline, "layers" | "activations">), layers, activations };
  }

  private mergeable(k: number, l: LayerReport | ActivationLayerReport): void {
    try {
      checkLayerMergeable(l, this.names[k]);
    } catch (e) {
      if (isUserError(e)) this.sources[k].refuse(e);
      throw e;
    }
  }

  /** One streamed array: element i of every report, merged, written at depth 1, until the reports end. */
  private *array<T>(next: () => (T | undefined)[], mergeOne: (copies: T[], i: number) => unknown, merge: ShardMerge): Generator<string> {
    let i = 0;
    for (;;) {
      const copies = next();
      const present = copies.map((c) => c !== undefined);
      if (present.every((p) => !p)) break;
      // The first report that differs from the first one: it has fewer, or more, elements.
      if (present.some((p) => !p)) throw merge.differentLayers(present.findIndex((p) => p !== present[0]));
      const merged = mergeOne(copies as T[], i);
      yield `${i ? "," : "["}\n  `;
      yield* compactJsonPiecesAt(merged, 2);
      i++;
    }
    yield i ? "\n ]" : "[]";
  }
}
