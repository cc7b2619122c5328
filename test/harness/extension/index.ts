// extensionTestsPath for the harness self-test: the same mocha runner as the real suite.
import * as vscode from "vscode";
import { runSuite } from "../../extension/mochaRunner";

export function run(): Promise<void> {
  return runSuite(__dirname, vscode.version);
}
