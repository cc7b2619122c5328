/**
 * The questions and notifications BN Lens puts to the user, behind one seam: the real ones call
 * vscode.window; tests replace single prompts through the exported API (testHooks.prompts) instead of
 * automating VS Code's dialogs, and read what was notified.
 */
import * as vscode from "vscode";

/** The prompts BN Lens uses; each may be replaced for tests. */
export interface Prompts {
  openDialog(options: vscode.OpenDialogOptions): Thenable<vscode.Uri[] | undefined>;
  saveDialog(options: vscode.SaveDialogOptions): Thenable<vscode.Uri | undefined>;
  quickPick<T extends vscode.QuickPickItem>(items: T[], options: vscode.QuickPickOptions & { id: string }): Thenable<T | undefined>;
  inputBox(options: vscode.InputBoxOptions & { id: string }): Thenable<string | undefined>;
}

/** A notification as shown, kept for tests and the log. */
export interface Notice {
  severity: "error" | "warning" | "info";
  message: string;
}

const real: Prompts = {
  openDialog: (o) => vscode.window.showOpenDialog(o),
  saveDialog: (o) => vscode.window.showSaveDialog(o),
  quickPick: (items, o) => vscode.window.showQuickPick(items, o),
  inputBox: (o) => vscode.window.showInputBox(o),
};

/** The prompts in force: the real ones, with any test overrides on top. */
export class PromptSeam {
  overrides: Partial<Prompts> = {};
  readonly notices: Notice[] = [];

  get prompts(): Prompts {
    return { ...real, ...this.overrides };
  }

  /**
   * Shows a notification without waiting for it to be dismissed; `actions` are buttons, and the one
   * clicked runs.
   */
  notify(severity: Notice["severity"], message: string, actions: Record<string, () => void> = {}): void {
    this.notices.push({ severity, message });
    if (this.notices.length > 200) this.notices.shift();
    const show =
      severity === "error"
        ? vscode.window.showErrorMessage
        : severity === "warning"
          ? vscode.window.showWarningMessage
          : vscode.window.showInformationMessage;
    void show(message, ...Object.keys(actions)).then((picked) => picked && actions[picked]?.());
  }
}
