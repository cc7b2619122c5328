// What scripts/runE2E.mjs hands the browser tests: a workbench already open on a workspace, with the
// extension under test loaded. The runner owns the server and the browser; tests only drive the page.
import type { Page } from "playwright-core";

/** The state of one end-to-end run, set by scripts/runE2E.mjs before it loads the tests. */
export interface E2EContext {
  /** The workbench page (VS Code 1.100 served by code-server), loaded and ready. */
  page: Page;
  /** http://127.0.0.1:<port> of the code-server this run started. */
  origin: string;
  /** The workspace folder open in the workbench. */
  workspaceDir: string;
  /** A copy of the face detector inside the workspace, when ../shared has it. */
  modelPath: string | undefined;
  /** A copy of the face detector's 16 photos inside the workspace (with bnLens.image.preprocessing set). */
  photosDir: string | undefined;
  /** The extension loaded as under development. */
  extensionPath: string;
  /** test-results/<run>/: screenshots and logs go here. */
  resultsDir: string;
  /** Saves a full-page PNG as <resultsDir>/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
}

declare global {
  // eslint-disable-next-line no-var -- a global declaration needs var
  var __bnLensE2E: E2EContext | undefined;
}

export function e2e(): E2EContext {
  const ctx = globalThis.__bnLensE2E;
  if (!ctx) throw new Error("no end-to-end context: run these tests through scripts/runE2E.mjs");
  return ctx;
}
