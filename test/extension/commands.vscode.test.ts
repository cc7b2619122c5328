import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { activated, bnLens } from "./bnLens";

interface ContributedCommand {
  command: string;
  title: string;
  category?: string;
}

function contributedCommands(): ContributedCommand[] {
  return (bnLens().packageJSON as { contributes?: { commands?: ContributedCommand[] } }).contributes?.commands ?? [];
}

describe("commands", () => {
  it("registers every command contributed in package.json", async () => {
    await activated();
    const contributed = contributedCommands().map((c) => c.command);
    assert.ok(contributed.length > 0, "package.json contributes no commands");
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributed.filter((c) => !registered.has(c)),
      [],
      "contributed but not registered",
    );
  });

  it('shows bnLens.inspectModel in the palette as "BN Lens: Inspect Model" (the browser test types that)', () => {
    const c = contributedCommands().find((x) => x.command === "bnLens.inspectModel");
    assert.ok(c, "bnLens.inspectModel is not contributed");
    assert.equal(c.category ? `${c.category}: ${c.title}` : c.title, "BN Lens: Inspect Model");
  });
});
