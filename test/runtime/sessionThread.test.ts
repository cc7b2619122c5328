import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { HostTensor } from "../../src/core/tensor";
import { fastSessions, inspectionThreads } from "../../src/runtime/engine";
import { createSession, releaseSession, runBatch } from "../../src/runtime/session";
import { SessionThread } from "../../src/runtime/sessionThread";
import { FACE_DETECTOR } from "../helpers/paths";

/** A seeded batch for the face detector (1 x 3 x 240 x 320), values in [-1, 1). */
function faceBatch(seed: number): Record<string, HostTensor> {
  const data = new Float32Array(3 * 240 * 320);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return { input: { dtype: "float32", dims: [1, 3, 240, 320], data } };
}

describe("onnxruntime on a thread of its own (sessionThread.ts)", function () {
  this.timeout(120_000);
  const bytes = new Uint8Array(fs.readFileSync(FACE_DETECTOR));
  const dir = path.dirname(FACE_DETECTOR);

  it("gives bit-identical outputs to a session in this thread, batch after batch, with several runs in flight", async () => {
    const thread = new SessionThread();
    const here = await createSession(bytes, dir, { intraOpNumThreads: 1 });
    try {
      const there = await thread.create(bytes, dir, { intraOpNumThreads: 1 });
      const fetch = ["scores", "boxes"];
      // Three runs queued at once come back in order, each the answer to its own feeds.
      const batches = [faceBatch(1), faceBatch(2), faceBatch(3)];
      const threaded = await Promise.all(batches.map((b) => there.run(b, fetch)));
      for (let k = 0; k < batches.length; k++) {
        const expected = await runBatch(here, batches[k], fetch);
        for (const name of fetch) {
          assert.deepEqual(threaded[k][name].dims, expected[name].dims);
          assert.equal(threaded[k][name].dtype, "float32");
          assert.deepEqual(Buffer.from(threaded[k][name].data.buffer), Buffer.from(expected[name].data.buffer), `${name} of batch ${k}`);
        }
      }
      await there.release();
    } finally {
      await releaseSession(here);
      await thread.close();
    }
  });

  it("turns onnxruntime's failures into the same sentences as in-process sessions", async () => {
    const thread = new SessionThread();
    try {
      const broken = new Uint8Array([8, 7, 18, 3, 98, 97, 100, 255, 255]);
      const inProcess = await createSession(broken, dir, {}).then(
        () => assert.fail("a broken model loaded"),
        (e: Error) => e.message,
      );
      await assert.rejects(thread.create(broken, dir, {}), (e: Error & { kind?: string }) => {
        assert.equal(e.kind, "model");
        assert.equal(e.message, inProcess);
        assert.match(e.message, /^onnxruntime cannot load this model \(/);
        return true;
      });
      const session = await thread.create(bytes, dir, {});
      const wrong: Record<string, HostTensor> = { input: { dtype: "float32", dims: [1, 3, 20, 20], data: new Float32Array(1200) } };
      await assert.rejects(session.run(wrong, ["scores"]), (e: Error & { kind?: string }) => {
        assert.equal(e.kind, "model");
        assert.match(e.message, /^onnxruntime failed while running the model: .*input/);
        assert.doesNotMatch(e.message, /onnxruntime_src|\[ONNXRuntimeError\]/);
        return true;
      });
      // The thread keeps serving after a failed run.
      const out = await session.run(faceBatch(4), ["scores"]);
      assert.deepEqual(out.scores.dims, [1, 4420, 2]);
    } finally {
      await thread.close();
    }
  });

  it("closes only once the runs handed to it returned (stopping inside a run aborts the process); later runs fail in a sentence", async () => {
    const thread = new SessionThread();
    const session = await thread.create(bytes, dir, {});
    const pending = session.run(faceBatch(5), ["scores"]);
    await thread.close();
    assert.deepEqual((await pending).scores.dims, [1, 4420, 2]);
    await assert.rejects(
      session.run(faceBatch(6), ["scores"]),
      /onnxruntime failed while running the model: the onnxruntime thread stopped/,
    );
  });

  it("leaves one core to the statistics by default", () => {
    assert.equal(inspectionThreads(1), 1);
    assert.equal(inspectionThreads(2), 1);
    assert.equal(inspectionThreads(8), 7);
  });

  it("runs fast mode in two sessions where cores allow, one when the user chose threads or the model is large", () => {
    assert.deepEqual(fastSessions(undefined, 1e6, 2), { sessions: 2, intraOpNumThreads: 1 });
    assert.deepEqual(fastSessions(undefined, 1e6, 8), { sessions: 2, intraOpNumThreads: 3 });
    assert.deepEqual(fastSessions(undefined, 1e6, 1), { sessions: 1, intraOpNumThreads: 1 });
    assert.deepEqual(fastSessions(2, 1e6, 8), { sessions: 1, intraOpNumThreads: 2 });
    assert.deepEqual(fastSessions(undefined, 300 * 2 ** 20, 8), { sessions: 1, intraOpNumThreads: 7 });
  });
});
