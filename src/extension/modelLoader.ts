/**
 * What a model's document needs before anything runs: its description (asked of the inference process; the
 * host never decodes the model itself) and the report saved before a window reload. Each is read once per
 * document; a second caller waits for the first.
 */
import type { HeldReport } from "../protocol/worker";
import type { HostToWebview, RecalibrationView } from "../protocol/webview";
import type { InspectorClient } from "../runtime/client";
import { detailOf, errorMessage } from "./errorText";
import type { Log } from "./log";
import type { ModelDocument } from "./modelDocument";
import type { ReportStore } from "./reportStore";
import { runSettings } from "./settings";

/** What the loader needs from the controller. */
export interface LoaderHost {
  readonly client: InspectorClient;
  readonly store: ReportStore;
  readonly log: Log;
  isTrusted(): boolean;
  /** Posts to every view of the document. */
  post(d: ModelDocument, msg: HostToWebview): void;
  /** Gives the document a held report (with a recalibration's before/after when it checks one). */
  setReport(d: ModelDocument, held: HeldReport, restored: boolean, recalibration?: RecalibrationView): void;
}

/** Describes models and restores their saved reports. */
export class ModelLoader {
  constructor(private readonly host: LoaderHost) {}

  /** Asks the inference process what the model stores, and tells the views. */
  describe(s: ModelDocument): Promise<void> {
    if (s.description || s.describing) return s.describing ?? Promise.resolve();
    const { log } = this.host;
    if (s.uri.scheme !== "file") {
      s.describeError = `BN Lens reads models from disk, and ${s.uri.toString()} is not a file on disk.`;
      this.host.post(s, { type: "modelFailed", message: s.describeError, name: s.name });
      return Promise.resolve();
    }
    const t0 = performance.now();
    s.describing = this.host.client
      .describeModel(s.uri.fsPath, { thresholds: runSettings(s.uri).thresholds })
      .then(
        (overview) => {
          s.description = overview;
          s.describeError = undefined;
          s.describeMs = performance.now() - t0;
          log.info(`Opened ${s.uri.fsPath}: ${overview.model.statement} (described in ${s.describeMs.toFixed(0)} ms).`);
          this.host.post(s, { type: "modelDescribed", overview, trusted: this.host.isTrusted() });
        },
        (e: unknown) => {
          s.describeError = errorMessage(e);
          log.error(`Could not read ${s.uri.fsPath}: ${s.describeError}${detailOf(e)}`);
          this.host.post(s, { type: "modelFailed", message: s.describeError, name: s.name });
        },
      )
      .finally(() => {
        s.describing = undefined;
      });
    return s.describing;
  }

  /** Brings back the report saved before a window reload (unless a report or a run came first). */
  restore(s: ModelDocument): Promise<void> {
    if (s.compactReport || s.restoring) return s.restoring ?? Promise.resolve();
    s.restoring = this.host.store
      .load(s.uri, this.host.client)
      .then((saved) => {
        if (!saved || s.compactReport || s.run) {
          if (saved) this.host.client.releaseHeld(saved.held.id);
          return;
        }
        this.host.setReport(s, saved.held, true, saved.recalibration);
        this.host.log.info(
          `Restored the report of ${s.uri.fsPath} from ${saved.held.compact.createdAt}${saved.recalibration ? ", with its recalibration's before/after" : ""}.`,
        );
      })
      .finally(() => {
        s.restoring = undefined;
      });
    return s.restoring;
  }
}
