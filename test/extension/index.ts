// Entry point VS Code loads as extensionTestsPath: runs every *.vscode.test.js bundled next to it.
import * as vscode from "vscode";
import { runSuite } from "./mochaRunner";

export function run(): Promise<void> {
  return runSuite(__dirname, vscode.version);
}
