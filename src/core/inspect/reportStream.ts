/**
 * A report read piece by piece: its top-level fields, then one element of `layers` or `activations` at a
 * time, each checked with the report schema as it comes (src/core/reportSchema.ts: the same sentences as
 * checkReport on the whole report). The pieces come from JsonPieceParser in split mode; the file reading
 * is the caller's (src/cli/reportStreamFile.ts), so this stays pure.
 */
import type { JsonEvent } from "../jsonPieces";
import type { ActivationLayerReport, LayerReport } from "../report";
import {
  REPORT_HEAD_KEYS,
  checkReportActivation,
  checkReportArray,
  checkReportHead,
  checkReportLayer,
  checkReportTail,
  type ReportHead,
  type ReportTail,
} from "../reportSchema";

/** The top-level fields whose elements are read one at a time. */
export const STREAMED_ARRAYS: ReadonlySet<string> = new Set(["layers", "activations"]);

/** What a report file yields, in order: JsonPieceParser's events, or its whole value when that is not a JSON object. */
export type ReportPiece = JsonEvent | { kind: "root"; value: unknown };

type Streamed = "layers" | "activations";
type ArrayState = { queue: unknown[]; next: number; state: "unseen" | "open" | "ended" | "invalid"; invalid?: unknown };

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * One report read as a stream of pieces. Ask for its head first, then its layers in order, then its
 * activation layers, then its tail. Elements are held only until asked for, except in a file whose fields
 * come in another order than BN Lens writes them (a head field after the layers): those are read ahead.
 */
export class StreamedReport {
  /** Top-level fields read so far other than layers and activations, in file order. */
  readonly fields: Record<string, unknown> = {};
  private readonly arrays: Record<Streamed, ArrayState> = {
    layers: { queue: [], next: 0, state: "unseen" },
    activations: { queue: [], next: 0, state: "unseen" },
  };
  private root: { value: unknown } | undefined;
  private ended = false;
  private checkedHead: ReportHead | undefined;

  constructor(
    /** The file name the sentences name. */
    readonly name: string,
    private readonly pieces: Iterator<ReportPiece>,
  ) {}

  private pull(): boolean {
    if (this.ended) return false;
    const next = this.pieces.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    const p = next.value;
    if (p.kind === "root") {
      this.root = { value: p.value };
      return true;
    }
    const array = STREAMED_ARRAYS.has(p.key) ? this.arrays[p.key as Streamed] : undefined;
    if (p.kind === "field" && !array)
      Object.defineProperty(this.fields, p.key, { value: p.value, writable: true, enumerable: true, configurable: true });
    else if (p.kind === "field" && array) {
      // A short array of plain values comes whole; anything but an array is refused when asked for.
      if (Array.isArray(p.value)) {
        array.queue.push(...(p.value as unknown[]));
        array.state = "ended";
      } else {
        array.state = "invalid";
        array.invalid = p.value;
      }
    } else if (array && p.kind === "item") {
      array.queue.push(p.value);
      array.state = "open";
    } else if (array) array.state = "ended";
    return true;
  }

  /** The fields before the layers, checked (checkReportHead's sentences). */
  head(): ReportHead {
    if (this.checkedHead) return this.checkedHead;
    while (!this.root && !REPORT_HEAD_KEYS.every((k) => has(this.fields, k)) && this.pull());
    this.checkedHead = checkReportHead((this.root ? this.root.value : this.fields) as Record<string, unknown>, this.name);
    return this.checkedHead;
  }

  /** Reads on to where the layers begin, so `fields` holds every field written before them. */
  readToLayers(): void {
    const a = this.arrays.layers;
    while (a.queue.length === 0 && a.state === "unseen" && this.pull());
  }

  private nextOf(key: Streamed): { value: unknown; index: number } | undefined {
    const a = this.arrays[key];
    while (a.queue.length === 0 && (a.state === "unseen" || a.state === "open") && this.pull());
    if (a.queue.length) return { value: a.queue.shift(), index: a.next++ };
    if (a.state === "invalid") checkReportArray(key, a.invalid, this.name);
    if (a.state === "unseen") checkReportArray(key, undefined, this.name);
    return undefined;
  }

  /** The next element of `layers`, checked; undefined after the last. */
  nextLayer(): LayerReport | undefined {
    const head = this.head();
    const next = this.nextOf("layers");
    return next && checkReportLayer(next.value, next.index, head, this.name);
  }

  /** The next element of `activations`, checked; undefined after the last. */
  nextActivation(): ActivationLayerReport | undefined {
    const head = this.head();
    const next = this.nextOf("activations");
    return next && checkReportActivation(next.value, next.index, head, this.name);
  }

  /** Stops reading (the source closes its file). */
  close(): void {
    this.ended = true;
    this.pieces.return?.();
  }

  /** Reads to the end; the fields after the layers, checked (every field read is then in `fields`). */
  tail(): ReportTail {
    while (this.pull());
    return checkReportTail(this.fields, this.name);
  }
}
