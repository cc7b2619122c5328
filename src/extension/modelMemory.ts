/**
 * What BN Lens remembers per model in the workspace (workspaceState): the last run's data, the last data
 * chosen with "with Data...", and the input shapes the user gave. Re-run and the data prompt read it.
 */
import type * as vscode from "vscode";
import type { DataChoice } from "./dataChoice";

/** What BN Lens remembers about one model. */
export interface ModelMemory {
  last?: DataChoice;
  /** The last data chosen with "with Data..." (offered again as "last used"). */
  data?: DataChoice;
  inputShapes?: string[];
}

const MEMORY_KEY = (uri: vscode.Uri) => `bnLens.model:${uri.toString()}`;

/** The memories of every model of the workspace. */
export class ModelMemories {
  constructor(private readonly state: vscode.Memento) {}

  /** What is remembered about a model ({} when nothing). */
  get(uri: vscode.Uri): ModelMemory {
    return this.state.get<ModelMemory>(MEMORY_KEY(uri)) ?? {};
  }

  /** Remembers `change` on top of what is remembered. */
  async update(uri: vscode.Uri, change: Partial<ModelMemory>): Promise<void> {
    await this.state.update(MEMORY_KEY(uri), { ...this.get(uri), ...change });
  }

  /** Forgets everything about a model. */
  async clear(uri: vscode.Uri): Promise<void> {
    await this.state.update(MEMORY_KEY(uri), undefined);
  }
}
