/**
 * BN Lens in VS Code: activation wires the controller (and its model documents) to commands, the .onnx
 * custom editor and the inference process. Nothing here loads onnxruntime-node: inference runs in dist/worker.js, a child
 * process started on first use.
 */
import * as vscode from "vscode";
import { InspectorClient } from "../runtime/client";
import { registerCommands } from "./commands";
import { Controller, type InspectionResult } from "./controller";
import { exportsFor, type BnLensPublicApi } from "./exports";
import { Log } from "./log";
import { ModelEditorProvider, VIEW_TYPE } from "./modelView";
import { RecalibrateQuickFix } from "./recalibrateModel";
import { testApi, type BnLensApi } from "./testApi";

export function activate(context: vscode.ExtensionContext): BnLensApi | BnLensPublicApi {
  const t0 = performance.now();
  const log = new Log(vscode.window.createOutputChannel("BN Lens", { log: true }));
  const client = new InspectorClient(context.asAbsolutePath("dist/worker.js"), { onLog: (line) => log.info(line) });
  const c = new Controller(context, client, log);
  context.subscriptions.push(
    log.channel,
    c,
    { dispose: () => client.dispose() },
    vscode.window.registerCustomEditorProvider(VIEW_TYPE, new ModelEditorProvider(context.extensionUri, c), {
      supportsMultipleEditorsPerDocument: false,
    }),
    ...registerCommands(c),
    vscode.languages.registerCodeActionsProvider({ scheme: "file", pattern: "**/*.onnx" }, new RecalibrateQuickFix(), {
      providedCodeActionKinds: RecalibrateQuickFix.kinds,
    }),
  );
  const activationMs = performance.now() - t0;
  log.info(
    `BN Lens activated in ${activationMs.toFixed(1)} ms (VS Code ${vscode.version}, ${vscode.env.uiKind === vscode.UIKind.Web ? "web" : "desktop"} UI, workspace ${vscode.workspace.isTrusted ? "trusted" : "not trusted"}).`,
  );

  // Test hooks only in test mode: they replace the trust check and the dialogs (src/extension/exports.ts).
  return exportsFor<BnLensApi>(context.extensionMode === vscode.ExtensionMode.Test, testApi(c, log, activationMs));
}

export function deactivate(): void {}

export type { BnLensApi, InspectionResult };
