/**
 * The ids under which the inference process holds the documents' reports (the host keeps only the compact
 * report): which id is valid in which process, holding a report again from its saved copy after a restart,
 * and keeping a report a command still needs (a comparison's baseline) from being released meanwhile.
 */
import { UserError } from "../core/errors";
import type { InspectorClient } from "../runtime/client";
import type { Log } from "./log";
import type { ModelDocument } from "./modelDocument";
import type { ReportStore } from "./reportStore";

/** Held-report ids of the documents, kept valid across restarts of the inference process. */
export class HeldIds {
  private readonly reholding = new WeakMap<ModelDocument, Promise<number>>();
  /** Held reports a command still needs, with how many hold each and whether they were released meanwhile. */
  private readonly pins = new Map<number, { count: number; released: boolean }>();

  constructor(
    private readonly client: InspectorClient,
    private readonly store: ReportStore,
    private readonly log: Log,
  ) {}

  /**
   * The id under which the inference process holds a document's report. After a restart of that process
   * (a crash, the OOM killer) it holds nothing: the report is held again from its saved copy, once.
   */
  heldId(d: ModelDocument): Promise<number> {
    if (d.heldId === undefined) return Promise.reject(new UserError("usage", "There is no report for this model yet."));
    if (d.heldGeneration === this.client.generation) return Promise.resolve(d.heldId);
    let again = this.reholding.get(d);
    if (!again) {
      const generation = this.client.generation;
      again = this.store.load(d.uri, this.client).then((saved) => {
        // Only the very report the document shows: a copy of an older run would show other numbers.
        if (!saved || saved.held.compact.createdAt !== d.compactReport?.createdAt) {
          if (saved) this.client.releaseHeld(saved.held.id);
          throw new UserError(
            "usage",
            `BN Lens's inference process was restarted and no longer has the report of ${d.name}; inspect the model again.`,
          );
        }
        d.reheld(saved.held.id, generation);
        this.log.info(`Held the report of ${d.name} again from its saved copy (the inference process was restarted).`);
        return saved.held.id;
      });
      this.reholding.set(d, again);
      void again.finally(() => this.reholding.delete(d)).catch(() => undefined);
    }
    return again;
  }

  /** Lets the inference process forget a report, unless a command still needs it (then when it is done). */
  release(id: number): void {
    const pin = this.pins.get(id);
    if (pin) pin.released = true;
    else this.client.releaseHeld(id);
  }

  /** Keeps a held report from being released until the returned function is called. */
  pin(id: number): () => void {
    const pin = this.pins.get(id) ?? { count: 0, released: false };
    pin.count++;
    this.pins.set(id, pin);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--pin.count > 0) return;
      this.pins.delete(id);
      if (pin.released) this.client.releaseHeld(id);
    };
  }
}
