/**
 * BN Lens in VS Code: activation wires the controller (and its model documents) to commands, the .onnx
 * custom editor and the inference process. Nothing here loads onnxruntime-node: inference runs in dist/worker.js, a child
 * process started on first use.
 */
import { SHOW_LAYER_COMMAND } from "./findingLinks";
import * as vscode from "vscode";
import type { Report } from "../core/report";
import type { HostToWebview } from "../protocol/webview";
import type { Progress } from "../protocol/worker";
import { InspectorClient } from "../runtime/client";
import { Controller, Log, type InspectionResult, type PanelState } from "./controller";
import { ModelEditorProvider, VIEW_TYPE } from "./modelView";
import { parseWebviewMessage } from "../protocol/webview";
import type { Notice, Prompts } from "./prompts";
import { exportsFor, type BnLensPublicApi } from "./exports";
import { RecalibrateQuickFix, quickFixes } from "./recalibrateModel";

/**
 * The extension's exports in test mode (`context.extensionMode === ExtensionMode.Test`; a normal
 * activation exports only BnLensPublicApi, see exports.ts):
 * - lastReport(): the last report produced or restored, of any open model document.
 * - panelState(): what the last view sent a report acknowledged (overviewRendered).
 * - client: the InspectorClient (tests read workerPid to kill the worker).
 * - whenIdle(): resolves when no inspection is running.
 * - progress(), statusBar(), viewState(uri), notices(), logLines(), timings(): read-only views of the state.
 * - testHooks: replace prompts (open/save dialogs, quick picks, input boxes) and the trust check, deliver a
 *   message as if the model's webview had sent it, forget what is remembered about a model.
 */
export interface BnLensApi {
  lastReport(): Report | undefined;
  panelState(): PanelState | undefined;
  client: InspectorClient;
  whenIdle(): Promise<void>;
  progress(): Progress | undefined;
  statusBar(): { text: string; tooltip: string; visible: boolean };
  viewState(uri: vscode.Uri): ReturnType<Controller["viewState"]>;
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
    forget(model: vscode.Uri): Promise<void>;
    /** True once a closed model's document is gone from memory (as after a window reload); false while it is open or running. */
    evict(model: vscode.Uri): boolean;
    /** The Quick Fixes BN Lens's code action provider offers for a model's current Problems-panel findings. */
    quickFixes(model: vscode.Uri): vscode.CodeAction[];
  };
}

let controller: Controller | undefined;

export function activate(context: vscode.ExtensionContext): BnLensApi | BnLensPublicApi {
  const t0 = performance.now();
  const log = new Log(vscode.window.createOutputChannel("BN Lens", { log: true }));
  const client = new InspectorClient(context.asAbsolutePath("dist/worker.js"), { onLog: (line) => log.info(line) });
  const c = new Controller(context, client, log);
  controller = c;
  context.subscriptions.push(
    log.channel,
    c,
    { dispose: () => client.dispose() },
    vscode.window.registerCustomEditorProvider(VIEW_TYPE, new ModelEditorProvider(context.extensionUri, c), {
      supportsMultipleEditorsPerDocument: false,
    }),
    command("bnLens.inspectModel", (uri?: unknown) => c.inspect(uri, "random")),
    command("bnLens.inspectModelWithData", (uri?: unknown) => c.inspect(uri, "withData")),
    command("bnLens.rerun", (uri?: unknown) => c.inspect(uri, "rerun")),
    command("bnLens.cancel", (uri?: unknown) => c.cancel(uri)),
    command("bnLens.exportReport", (uri?: unknown) => c.exportReport(uri)),
    command("bnLens.compareWithData", (uri?: unknown) => c.compareWith(uri)),
    command("bnLens.recalibrate", (uri?: unknown) => c.recalibrate(uri)),
    command("bnLens.showLog", () => log.channel.show()),
    command(SHOW_LAYER_COMMAND, (...args: unknown[]) => c.showLayer(...args)),
    vscode.languages.registerCodeActionsProvider({ scheme: "file", pattern: "**/*.onnx" }, new RecalibrateQuickFix(), {
      providedCodeActionKinds: RecalibrateQuickFix.kinds,
    }),
  );
  const activationMs = performance.now() - t0;
  log.info(
    `BN Lens activated in ${activationMs.toFixed(1)} ms (VS Code ${vscode.version}, ${vscode.env.uiKind === vscode.UIKind.Web ? "web" : "desktop"} UI, workspace ${vscode.workspace.isTrusted ? "trusted" : "not trusted"}).`,
  );

  // Test hooks only in test mode: they replace the trust check and the dialogs (src/extension/exports.ts).
  return exportsFor<BnLensApi>(context.extensionMode === vscode.ExtensionMode.Test, {
    lastReport: () => c.lastReport(),
    panelState: () => c.panelState(),
    client,
    whenIdle: () => c.whenIdle(),
    progress: () => c.progress(),
    statusBar: () => c.statusBar(),
    viewState: (uri) => c.viewState(uri),
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
      toWebview: (model) => c.viewState(model).sent,
      described: (model) => c.described(model),
      forget: (model) => c.forget(model),
      evict: (model) => c.evict(model),
      quickFixes: (model) => quickFixes(model, vscode.languages.getDiagnostics(model)),
    },
  });
}

export function deactivate(): void {
  controller = undefined;
}

/** Registers a command whose failures never escape as unhandled rejections: they are logged and shown. */
function command<T>(id: string, run: (...args: unknown[]) => T | Promise<T>): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await run(...args);
    } catch (e) {
      const c = controller;
      const message = e instanceof Error ? e.message : String(e);
      c?.log.error(`${id} failed: ${e instanceof Error ? e.stack : message}`);
      c?.seam.notify("error", `BN Lens hit an internal error: ${message}`, { "Show Log": () => c.log.channel.show() });
      return undefined;
    }
  });
}

export type { InspectionResult };
