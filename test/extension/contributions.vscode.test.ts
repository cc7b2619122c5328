// What package.json promises VS Code: titles in the palette, menus on .onnx files, the custom editor,
// workspace-only and limited untrusted support.
import * as assert from "node:assert/strict";
import { bnLens } from "./bnLens";

interface Manifest {
  extensionKind: string[];
  capabilities: {
    untrustedWorkspaces: { supported: string | boolean; description?: string; restrictedConfigurations?: string[] };
    virtualWorkspaces: boolean;
  };
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    customEditors: { viewType: string; selector: { filenamePattern: string }[]; priority?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
  };
}

describe("contributions", () => {
  const m = () => bnLens().packageJSON as Manifest;

  it("names the eight commands exactly, all in the BN Lens category", () => {
    assert.deepEqual(
      m().contributes.commands.map((c) => [c.command, `${c.category}: ${c.title}`]),
      [
        ["bnLens.inspectModel", "BN Lens: Inspect Model"],
        ["bnLens.inspectModelWithData", "BN Lens: Inspect Model with Data..."],
        ["bnLens.rerun", "BN Lens: Re-run"],
        ["bnLens.cancel", "BN Lens: Cancel"],
        ["bnLens.exportReport", "BN Lens: Export Report (JSON or HTML)"],
        ["bnLens.compareWithData", "BN Lens: Compare with Another Data Set..."],
        ["bnLens.recalibrate", "BN Lens: Recalibrate BN Statistics on Data..."],
        ["bnLens.showLog", "BN Lens: Show Log"],
      ],
    );
  });

  it("opens .onnx files in the read-only custom editor bnLens.modelView by default", () => {
    const [editor] = m().contributes.customEditors;
    assert.equal(editor.viewType, "bnLens.modelView");
    assert.deepEqual(editor.selector, [{ filenamePattern: "*.onnx" }]);
    assert.equal(editor.priority, "default");
  });

  it("offers the inspect commands in the explorer's context menu of .onnx files", () => {
    const explorer = m().contributes.menus["explorer/context"];
    for (const id of ["bnLens.inspectModel", "bnLens.inspectModelWithData", "bnLens.rerun"]) {
      const item = explorer.find((x) => x.command === id);
      assert.ok(item, `${id} is not in the explorer context menu`);
      assert.match(item.when ?? "", /resourceExtname == \.onnx/);
    }
  });

  it("runs in the workspace, not in virtual workspaces, and limits untrusted workspaces", () => {
    const manifest = m();
    assert.deepEqual(manifest.extensionKind, ["workspace"]);
    assert.equal(manifest.capabilities.virtualWorkspaces, false);
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, "limited");
    assert.match(manifest.capabilities.untrustedWorkspaces.description ?? "", /does not run/);
    assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations?.includes("bnLens.executionProviders"));
  });
});
