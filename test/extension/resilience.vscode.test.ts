// Cancel stops a long run within a batch; a killed inference process is reported and the next run works;
// an untrusted workspace shows the model but refuses to run it.
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { FACE_DETECTOR } from "../helpers/paths";
import { type InspectionResult, activated, until } from "./bnLens";
import { modelCopy, reset, run, setSettings, waitUntil } from "./fixtures";

describe("cancel, crash and trust", function () {
  this.timeout(120_000);
  let restore: () => Promise<void>;
  before(async () => {
    restore = await setSettings({ sampleLimit: 100_000, batchSize: 4 });
  });
  after(async () => {
    await restore();
  });
  afterEach(reset);

  it("Cancel stops a long run within a batch and the view says so", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    const pending = run<InspectionResult | undefined>("bnLens.inspectModel", uri);
    await waitUntil(() => (api.progress()?.samplesDone ?? 0) >= 4, 60_000, "the first batch");
    assert.equal(api.progress()?.samplesTotal, 100_000);
    const t0 = Date.now();
    await run("bnLens.cancel");
    const result = await pending;
    const stopMs = Date.now() - t0;
    assert.equal(result, undefined);
    assert.ok(stopMs < 5_000, `the run took ${stopMs} ms to stop`);
    assert.ok(api.testHooks.toWebview(uri).some((m) => m.type === "runCancelled"));
    assert.ok(!api.notices().some((n) => n.severity === "error" && /cancel/i.test(n.message)), "a cancel is not an error");
    assert.equal(api.viewState(uri).running, false);
    console.log(`    (stopped ${stopMs} ms after Cancel)`);
  });

  it("a killed inference process is reported, and the next run starts a fresh one", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    const pending = run<InspectionResult | undefined>("bnLens.inspectModel", uri);
    await waitUntil(() => (api.progress()?.samplesDone ?? 0) >= 4, 60_000, "the first batch");
    const pid = api.client.workerPid;
    assert.ok(pid, "no worker pid");
    process.kill(pid, "SIGKILL");
    assert.equal(await pending, undefined);
    const notice = api.notices().at(-1);
    assert.equal(notice?.severity, "error");
    // client.ts reads a SIGKILL as the kernel's OOM killer ("ran out of memory"), other deaths as "stopped unexpectedly".
    assert.match(
      notice?.message ?? "",
      /The inference process (ran out of memory and was stopped|stopped unexpectedly) \(signal SIGKILL\)/,
    );
    assert.ok(api.testHooks.toWebview(uri).some((m) => m.type === "runFailed"));

    const restoreSmall = await setSettings({ sampleLimit: 4 });
    try {
      const next = await run<InspectionResult | undefined>("bnLens.rerun", uri);
      assert.ok(next, "the run after the crash failed");
      assert.equal(next.report.rows.length, 35);
      assert.notEqual(api.client.workerPid, pid);

      // A finished report outlives its inference process: the host holds only its compact form, and the
      // layer detail asks a fresh process, which holds the report again from the copy kept for a reload.
      await waitUntil(() => api.logLines().some((l) => l.includes(`Kept the report of ${uri.fsPath}`)), 30_000, "the kept copy");
      const whole = await api.fullReport(next.heldId);
      const pid2 = api.client.workerPid;
      assert.ok(pid2);
      process.kill(pid2, "SIGKILL");
      await waitUntil(() => api.client.workerPid === undefined, 30_000, "the inference process to end");
      api.testHooks.fromWebview(uri, { type: "getLayer", requestId: 77, kind: "bn", index: 3 });
      const reply = await until(
        () => api.testHooks.toWebview(uri).find((m) => m.type === "replied" && m.requestId === 77),
        60_000,
        "the layer's detail after the restart",
      );
      assert.ok(reply.type === "replied" && reply.result?.kind === "bn", JSON.stringify(reply).slice(0, 300));
      assert.deepEqual(reply.result.layer, whole.layers[3]);
      assert.ok(api.logLines().some((l) => /Held the report of version-RFB-320\.onnx again from its saved copy/.test(l)));
    } finally {
      await restoreSmall();
    }
  });

  // The harness runs code-server with workspace trust disabled, so it cannot open an untrusted folder:
  // this replaces the trust check (testHooks.trusted) and exercises BN Lens's guard and messages.
  it("in an untrusted workspace the view shows the model and the run commands refuse, saying why", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    api.testHooks.trusted = () => false;
    await vscode.commands.executeCommand("vscode.openWith", uri, "bnLens.modelView");
    await api.testHooks.described(uri);
    assert.equal(api.viewState(uri).describedLayers, 35, "the model is still shown");
    for (const command of ["bnLens.inspectModel", "bnLens.rerun"]) {
      assert.equal(await run(command, uri), undefined, `${command} ran in an untrusted workspace`);
      assert.match(api.notices().at(-1)?.message ?? "", /untrusted workspace/);
    }
    api.testHooks.fromWebview(uri, { type: "runInspection", withData: false });
    await waitUntil(
      () => api.testHooks.toWebview(uri).some((m) => m.type === "runFailed" && m.kind === "untrusted"),
      5_000,
      "the view to say why",
    );
    const described = api.testHooks.toWebview(uri).find((m) => m.type === "modelDescribed");
    assert.ok(described?.type === "modelDescribed" && described.trusted === false);
    assert.equal(api.viewState(uri).report, undefined);
    assert.equal(api.viewState(uri).running, false);
  });

  it("Cancel with nothing running says so", async () => {
    const api = await activated();
    assert.equal(await run("bnLens.cancel"), false);
    assert.match(api.notices().at(-1)?.message ?? "", /No BN Lens run is in progress/);
  });
});
