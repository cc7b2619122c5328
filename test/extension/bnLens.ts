// What the extension-host tests may rely on: BN Lens's id, its exported test API and a polling helper.
// The API is the contract between the extension and these tests (see README "Tests").
import * as vscode from "vscode";
import type { BnLensApi } from "../../src/extension/testApi";

export const EXTENSION_ID = "bn-lens.bn-lens";

/**
 * What `bnLens.inspectModel` resolves to (undefined when the user cancelled): the compact report and the id
 * the inference process holds the whole report under (api.fullReport(heldId) brings it over).
 */
export type { InspectionResult } from "../../src/extension/controller";

/**
 * The extension's exports, for tests: the last report it produced and what its panel acknowledged
 * (lastReport, panelState), plus the client, state readers and test hooks documented in
 * src/extension/testApi.ts.
 */
export type { BnLensApi } from "../../src/extension/testApi";

export function bnLens(): vscode.Extension<BnLensApi> {
  const ext = vscode.extensions.getExtension<BnLensApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not loaded in this extension host`);
  return ext;
}

export async function activated(): Promise<BnLensApi> {
  const ext = bnLens();
  const api = await ext.activate();
  if (!api) throw new Error(`${EXTENSION_ID} activated without exporting its API`);
  return api;
}

/** Polls `probe` until it returns something other than undefined. */
export async function until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Modules of onnxruntime-node (its JS or its native binding) in this thread's module cache. */
export function loadedOnnxRuntime(): string[] {
  return Object.keys(require.cache).filter((k) => /onnxruntime-node|onnxruntime_binding/.test(k));
}
