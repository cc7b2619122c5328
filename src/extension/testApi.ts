/**
 * The extension's exports in test mode (`context.extensionMode === ExtensionMode.Test`; a normal activation
 * exports only BnLensPublicApi, see exports.ts): read-only views of the controller's state and the hooks
 * that replace prompts and the trust check. The extension-host tests rely on it (test/extension/bnLens.ts).
 */
import * as vscode from "vscode";
import type { Report } from "../core/report";
import { parseWebviewMessage, type CompactReport, type HostToWebview } from "../protocol/webview";
import type { Progress } from "../protocol/worker";
import type { InspectorClient } from "../runtime/client";
import type { Controller } from "./controller";
import type { Log } from "./log";
import type { Notice, Prompts } from "./prompts";
import { quickFixes } from "./recalibrateModel";

/** What the last panel that was sent a report acknowledged (for tests and the e2e check). */
export interface PanelState {
  received: boolean;
  /** Overview rows sent (BN layers, or activation layers when BN was fused away). */
  layers: number;
  firstPaintMs?: number;
  restored: boolean;
  model: string;
}

/** What the tests see of one model's document and views. */
export interface ViewState {
  views: number;
  readyViews: number;
  describedLayers: number | undefined;
  describeMs: number | undefined;
  describeError: string | undefined;
  /** The compact report the host keeps (the whole report is held by the inference process, under heldId). */
  report: CompactReport | undefined;
  heldId: number | undefined;
  restored: boolean;
  running: boolean;
  sent: HostToWebview[];
}

/**
 * The test API:
 * - lastReport(): the last report produced or restored, of any open model document, brought over whole from
 *   the inference process; fullReport(heldId): the whole report held under an id (an inspect command's heldId).
 * - panelState(): what the last view sent a report acknowledged (overviewRendered).
 * - client: the InspectorClient (tests read workerPid to kill the worker).
 * - whenIdle(): resolves when no inspection is running.
 * - progress(), statusBar(), viewState(uri), notices(), logLines(), timings(): read-only views of the state.
 * - testHooks: replace prompts (open/save dialogs, quick picks, input boxes) and the trust check, deliver a
 *   message as if the model's webview had sent it, forget what is remembered about a model.
 */
export interface BnLensApi {
  lastReport(): Promise<Report | undefined>;
  fullReport(heldId: number): Promise<Report>;
  panelState(): PanelState | undefined;
  client: InspectorClient;
  whenIdle(): Promise<void>;
  progress(): Progress | undefined;
  statusBar(): { text: string; tooltip: string; visible: boolean };
  viewState(uri: vscode.Uri): ViewState;
  notices(): readonly Notice[];
  logLines(): readonly string[];
  timings(): { activationMs: number };
  testHooks: {
    prompts: Partial<Prompts>;
    trusted: (() => boolean) | undefined;
    /** Validates `raw` like a real webview message and handles it for the model's first open view. */
    fromWebview(model: vscode.Uri, raw: unknown): boolean;
    /** Messages the host sent (or meant to send) to the model's views. */
    toWebview(model: vscode.Uri): HostToWebview[];
    /** Waits until the model's description (and any saved report) has been read. */
    described(model: vscode.Uri): Promise<void>;
    /** Forgets everything remembered about a model on disk: its data choices and its saved report (tests start clean). */
    forget(model: vscode.Uri): Promise<void>;
    /** True once a closed model's document is gone from memory (as after a window reload); false while it is open or running. */
    evict(model: vscode.Uri): boolean;
    /** The Quick Fixes BN Lens's code action provider offers for a model's current Problems-panel findings. */
    quickFixes(model: vscode.Uri): vscode.CodeAction[];
    /**
     * Per-channel layer objects (a BN layer's `pre.mean`, an activation layer's `stats.mean`) reachable from a
     * model's document on the host, its views left out: 0 when the host keeps only the compact report.
     */
    perChannelLayersInHost(model: vscode.Uri): number;
  };
}

/** The test API over a controller. */
export function testApi(c: Controller, log: Log, activationMs: number): BnLensApi {
  const viewState = (uri: vscode.Uri): ViewState => {
    const s = c.find(uri);
    return {
      views: s?.views.size ?? 0,
      readyViews: s ? [...s.views].filter((v) => v.ready).length : 0,
      describedLayers: s?.description?.layers.length,
      describeMs: s?.describeMs,
      describeError: s?.describeError,
      report: s?.compactReport,
      heldId: s?.heldId,
      restored: s?.restored ?? false,
      running: !!s?.run,
      sent: s ? [...s.sent] : [],
    };
  };
  return {
    lastReport: async () => {
      const d = c.docs.lastReported();
      return d && d.heldId !== undefined ? c.client.fetchReport(await c.heldId(d)) : undefined;
    },
    fullReport: (heldId) => c.client.fetchReport(heldId),
    panelState: () => {
      const v = c.lastPanel;
      if (!v || v.sentRows === undefined) return undefined;
      return { received: v.received, layers: v.sentRows, firstPaintMs: v.firstPaintMs, restored: v.sentRestored, model: v.uri.fsPath };
    },
    client: c.client,
    whenIdle: () => {
      if (c.docs.running().length === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const sub = c.docs.onDidChange(({ change }) => {
          if (change.kind !== "runEnded" || c.docs.running().length > 0) return;
          sub.dispose();
          resolve();
        });
      });
    },
    progress: () => c.docs.running()[0]?.run?.progress,
    statusBar: () => c.status.state(),
    viewState,
    notices: () => [...c.seam.notices],
    logLines: () => [...log.lines],
    timings: () => ({ activationMs }),
    testHooks: {
      get prompts() {
        return c.seam.overrides;
      },
      set prompts(p: Partial<Prompts>) {
        c.seam.overrides = p;
      },
      get trusted() {
        return c.trustOverride;
      },
      set trusted(t: (() => boolean) | undefined) {
        c.trustOverride = t;
      },
      fromWebview(model, raw) {
        const msg = parseWebviewMessage(raw);
        const view = c.find(model)?.views.values().next().value;
        if (!view) return false;
        if (msg) c.viewMessage(view, msg);
        else c.viewRejected(view, raw);
        return !!msg;
      },
      toWebview: (model) => viewState(model).sent,
      described: async (model) => {
        const s = c.find(model);
        await s?.describing;
        await s?.restoring;
      },
      forget: async (model) => {
        await c.memories.clear(model);
        await c.store.remove(model);
        c.diagnostics.clear(model);
      },
      evict: (model) => !c.find(model),
      quickFixes: (model) => quickFixes(model, vscode.languages.getDiagnostics(model)),
      perChannelLayersInHost: (model) => {
        const s = c.find(model);
        return s ? perChannelLayers(s, new Set([s.views])) : 0;
      },
    },
  };
}

/** Counts objects shaped like a report layer (per-channel arrays) reachable from `root`, not entering `skip`. */
function perChannelLayers(root: object, skip: Set<unknown>): number {
  const seen = new Set<unknown>(skip);
  const stack: unknown[] = [root];
  let found = 0;
  while (stack.length) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    seen.add(v);
    const o = v as { pre?: { mean?: unknown }; stats?: { mean?: unknown } };
    if (Array.isArray(o.pre?.mean) || Array.isArray(o.stats?.mean)) found++;
    for (const x of Array.isArray(v) ? v : Object.values(v)) if (typeof x === "object" && x !== null) stack.push(x);
  }
  return found;
}
