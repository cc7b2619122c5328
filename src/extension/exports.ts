/**
 * What BN Lens exports to other extensions (`vscode.extensions.getExtension("bn-lens.bn-lens").exports`).
 * A normal activation exports only a read-only view of the results; the test API (the inference client,
 * state readers and the hooks that replace prompts and the workspace-trust check) exists only when VS Code
 * runs the extension in test mode (`context.extensionMode === ExtensionMode.Test`), so no other extension
 * can run a model past the trust check or drive BN Lens's dialogs. Kept free of 'vscode' so it is unit-tested.
 */
import type { Report } from "../core/report";

/**
 * The exports of a normal activation: the last report produced or restored, read-only. The inference process
 * holds it; the promise brings a copy over in pages (a large report costs the host time only when asked for).
 */
export interface BnLensPublicApi {
  lastReport(): Promise<Report | undefined>;
}

/** Chooses the exports: the whole test API in test mode, otherwise a frozen object with lastReport only. */
export function exportsFor<T extends BnLensPublicApi>(testMode: boolean, testApi: T): T | BnLensPublicApi {
  if (testMode) return testApi;
  const lastReport = testApi.lastReport;
  return Object.freeze({ lastReport: () => lastReport() });
}
