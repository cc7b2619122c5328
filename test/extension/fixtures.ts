// Shared by the BN Lens extension-host tests: temporary copies of models (so each test file starts with
// a model BN Lens has never seen), settings changed for one block, prompt stubs and small waits.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { BnLensApi } from "../../src/extension/testApi";
import type { Prompts } from "../../src/extension/prompts";
import { activated } from "./bnLens";

/** A fresh copy of a model in a temporary folder (outside the workspace), as a file URI. */
export function modelCopy(source: string, name = path.basename(source)): vscode.Uri {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-model-"));
  const target = path.join(dir, name);
  fs.copyFileSync(source, target);
  return vscode.Uri.file(target);
}

/** Sets bnLens.* user settings (undefined removes one) and returns a function that puts the old values back. */
export async function setSettings(values: Record<string, unknown>): Promise<() => Promise<void>> {
  const c = vscode.workspace.getConfiguration("bnLens");
  const old: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    old[k] = c.inspect(k)?.globalValue;
    await c.update(k, v, vscode.ConfigurationTarget.Global);
  }
  return async () => {
    const now = vscode.workspace.getConfiguration("bnLens");
    for (const [k, v] of Object.entries(old)) await now.update(k, v, vscode.ConfigurationTarget.Global);
  };
}

type QuickPickAnswer = (items: readonly vscode.QuickPickItem[]) => vscode.QuickPickItem | undefined;

/**
 * Replaces BN Lens's prompts for a test. Quick picks and input boxes are answered by id; any prompt
 * without an answer fails the test (BN Lens asked something it should not have).
 */
export function answerPrompts(
  api: BnLensApi,
  answers: {
    quickPick?: Record<string, QuickPickAnswer>;
    inputBox?: Record<string, (options: vscode.InputBoxOptions) => string | undefined>;
    openDialog?: (options: vscode.OpenDialogOptions) => vscode.Uri[] | undefined;
    saveDialog?: (options: vscode.SaveDialogOptions) => vscode.Uri | undefined;
  },
): { asked: string[] } {
  const asked: string[] = [];
  const unexpected = (what: string) => {
    throw new Error(`BN Lens asked an unexpected question: ${what}`);
  };
  const prompts: Prompts = {
    quickPick: async (items, options) => {
      asked.push(`quickPick:${options.id}`);
      const answer = answers.quickPick?.[options.id] ?? unexpected(`quick pick ${options.id}`);
      return answer(items) as (typeof items)[number] | undefined;
    },
    inputBox: async (options) => {
      asked.push(`inputBox:${options.id}`);
      return (answers.inputBox?.[options.id] ?? unexpected(`input box ${options.id}`))(options);
    },
    openDialog: async (options) => {
      asked.push("openDialog");
      return (answers.openDialog ?? unexpected("open dialog"))(options);
    },
    saveDialog: async (options) => {
      asked.push("saveDialog");
      return (answers.saveDialog ?? unexpected("save dialog"))(options);
    },
  };
  api.testHooks.prompts = prompts;
  return { asked };
}

/** Picks the quick pick item whose label contains `text`. */
export const pick =
  (text: string): QuickPickAnswer =>
  (items) => {
    const found = items.find((i) => i.label.includes(text));
    if (!found) throw new Error(`no quick pick item contains "${text}": ${items.map((i) => i.label).join(" | ")}`);
    return found;
  };

/** Runs a BN Lens command and returns what it resolved to. */
export function run<T>(command: string, ...args: unknown[]): Promise<T> {
  return Promise.resolve(vscode.commands.executeCommand<T>(command, ...args));
}

/** Closes every editor, so each test starts with no BN Lens view open. */
export async function closeEditors(): Promise<void> {
  await vscode.commands.executeCommand("workbench.action.closeAllEditors");
}

/** Resets prompts and trust, and closes editors: call in afterEach. */
export async function reset(): Promise<void> {
  const api = await activated();
  api.testHooks.prompts = {};
  api.testHooks.trusted = undefined;
  await api.whenIdle();
  await closeEditors();
}

/** Waits for a condition, polling every 50 ms. */
export async function waitUntil(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
