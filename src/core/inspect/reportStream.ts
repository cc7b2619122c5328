/**
 * A report read piece by piece: its top-level fields, then one element of `layers` or `activations` at a
 * time, each checked with the report schema as it comes (src/core/reportSchema.ts: the same sentences as
 * checkReport on the whole report). The pieces come from JsonPieceParser in split mode (reportPieces); the
 * file reading is the caller's (src/cli/reportStreamFile.ts), so this stays pure.
 */
import { UserError, isUserError } from "../errors";
import { JsonPieceParser, JsonSyntaxError, type JsonEvent } from "../jsonPieces";
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

/**
 * The pieces of the report text given in `texts` (cut anywhere), named `name` in the sentence for text that
 * is not JSON (the same as for a report read whole).
 */
export function* reportPieces(texts: Iterable<string>, name: string): Generator<ReportPiece> {
  const parser = new JsonPieceParser(STREAMED_ARRAYS);
  const parse = <T>(run: () => T): T => {
    try {
      return run();
    } catch (e) {
      if (e instanceof JsonSyntaxError)
        throw new UserError("data", `${name} is not JSON; pass reports written by "bn-lens inspect --json".`);
      throw e;
    }
  };
  let events = 0;
  for (const text of texts) {
    parse(() => parser.write(text));
    for (const e of parser.take()) {
      events++;
      yield e;
    }
  }
  const root = parse(() => parser.end());
  for (const e of parser.take()) {
    events++;
    yield e;
  }
  // Not an object (an array, a number...): the whole value, for the schema's sentence.
  if (events === 0 && (typeof root !== "object" || root === null || Array.isArray(root))) yield { kind: "root", value: root };
}

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
  // The first refusal met in this report, and where: its text, its schema, or (refuse) merge's own check.
  private failure: { error: UserError; stage: "syntax" | "schema" | "mergeable" } | undefined;
  private ended = false;
  private checkedHead: ReportHead | undefined;

  constructor(
    /** The file name the sentences name. */
    readonly name: string,
    private readonly pieces: Iterator<ReportPiece>,
  ) {}

  private pull(): boolean {
    if (this.ended) return false;
    let next: IteratorResult<ReportPiece>;
    try {
      next = this.pieces.next();
    } catch (e) {
      // Text that is not JSON (or a file that cannot be read): nothing more comes.
      this.ended = true;
      // Reading a report whole, text that is not JSON is refused before any field is checked.
      if (isUserError(e) && this.failure?.stage !== "syntax") this.failure = { error: e, stage: "syntax" };
      throw e;
    }
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
    this.checkedHead = this.checked(() =>
      checkReportHead((this.root ? this.root.value : this.fields) as Record<string, unknown>, this.name),
    );
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
    if (a.state === "invalid") this.checked(() => checkReportArray(key, a.invalid, this.name));
    if (a.state === "unseen") this.checked(() => checkReportArray(key, undefined, this.name));
    return undefined;
  }

  /** The next element of `layers`, checked; undefined after the last. */
  nextLayer(): LayerReport | undefined {
    const head = this.head();
    const next = this.nextOf("layers");
    return next && this.checked(() => checkReportLayer(next.value, next.index, head, this.name));
  }

  /** The next element of `activations`, checked; undefined after the last. */
  nextActivation(): ActivationLayerReport | undefined {
    const head = this.head();
    const next = this.nextOf("activations");
    return next && this.checked(() => checkReportActivation(next.value, next.index, head, this.name));
  }

  /** Stops reading (the source closes its file). */
  close(): void {
    this.ended = true;
    this.pieces.return?.();
  }

  /** Reads to the end; the fields after the layers, checked (every field read is then in `fields`). */
  tail(): ReportTail {
    while (this.pull());
    return this.checked(() => checkReportTail(this.fields, this.name));
  }

  private checked<T>(run: () => T): T {
    try {
      return run();
    } catch (e) {
      if (isUserError(e)) this.failure ??= { error: e, stage: "schema" };
      throw e;
    }
  }

  /** Records a refusal of this report by the merge itself (a report without per-channel histograms). */
  refuse(error: UserError): void {
    this.failure ??= { error, stage: "mergeable" };
  }

  /** Layers and activation layers read so far (all of them once the report was read to its end). */
  counts(): { layers: number; activations: number } {
    const n = (a: ArrayState) => a.next + a.queue.length;
    return { layers: n(this.arrays.layers), activations: n(this.arrays.activations) };
  }

  /**
   * The refusal reading this report whole would give first, reading the rest of it to find out: text that
   * is not JSON anywhere, else the first field that does not fit the schema, else the first layer that
   * `mergeable` refuses. undefined when the whole report is fine.
   */
  firstError(mergeable: (l: LayerReport | ActivationLayerReport) => void): UserError | undefined {
    let unmergeable = this.failure?.stage === "mergeable" ? this.failure.error : undefined;
    const check = (l: LayerReport | ActivationLayerReport) => {
      try {
        if (!unmergeable) mergeable(l);
      } catch (e) {
        if (!isUserError(e)) throw e;
        unmergeable = e;
      }
    };
    try {
      if (this.failure?.stage !== "schema" && this.failure?.stage !== "syntax") {
        this.head();
        for (let l; (l = this.nextLayer());) check(l);
        for (let a; (a = this.nextActivation());) check(a);
        this.tail();
      }
      while (this.pull());
    } catch (e) {
      if (!isUserError(e)) throw e;
      // A schema refusal met now: the text after it may still not be JSON, which comes first.
      try {
        while (this.pull());
      } catch (e2) {
        if (!isUserError(e2)) throw e2;
      }
    }
    const f = this.failure;
    return f && f.stage !== "mergeable" ? f.error : unmergeable;
  }
}
