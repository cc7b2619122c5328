/** BN Lens's commands (package.json `contributes.commands`), each bound to what the controller does. */
import * as vscode from "vscode";
import type { Controller } from "./controller";
import { SHOW_LAYER_COMMAND } from "./findingLinks";

/** Registers every command; failures never escape as unhandled rejections: they are logged and shown. */
export function registerCommands(c: Controller): vscode.Disposable[] {
  const command = <T>(id: string, run: (...args: unknown[]) => T | Promise<T>): vscode.Disposable =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await run(...args);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        c.log.error(`${id} failed: ${e instanceof Error ? e.stack : message}`);
        c.seam.notify("error", `BN Lens hit an internal error: ${message}`, { "Show Log": () => c.log.channel.show() });
        return undefined;
      }
    });
  return [
    command("bnLens.inspectModel", (uri?: unknown) => c.inspect(uri, "random")),
    command("bnLens.inspectModelWithData", (uri?: unknown) => c.inspect(uri, "withData")),
    command("bnLens.rerun", (uri?: unknown) => c.inspect(uri, "rerun")),
    command("bnLens.cancel", (uri?: unknown) => c.cancel(uri)),
    command("bnLens.exportReport", (uri?: unknown) => c.exportReport(uri)),
    command("bnLens.compareWithData", (uri?: unknown) => c.compareWith(uri)),
    command("bnLens.recalibrate", (uri?: unknown) => c.recalibrate(uri)),
    command("bnLens.showLog", () => c.log.channel.show()),
    command(SHOW_LAYER_COMMAND, (...args: unknown[]) => c.showLayer(...args)),
  ];
}
