// The request/reply layer both boundaries use: replies matched by id and method, events, cancellation,
// validation of what arrives, and the webview protocol's schemas.
import * as assert from "node:assert/strict";
import { RpcClient, RpcServer, type Handlers } from "../../src/protocol/rpc";
import { int, num, str, struct } from "../../src/core/schema";
import { parseWebviewMessage, webviewMessageProblem } from "../../src/protocol/webview";
import { workerParams } from "../../src/protocol/worker";

interface Methods {
  add: { params: { a: number; b: number }; result: number };
  name: { params: { id: number }; result: string };
  count: { params: { to: number }; result: number; events: { ticked: number } };
}
const params = {
  add: struct({ a: num(), b: num() }),
  name: struct({ id: int() }),
  count: struct({ to: int() }),
};

/** A client and a server wired back to back; `wire` sees every message and may rewrite or drop it. */
function pair(handlers: Handlers<Methods>, wire: { toServer?: (m: unknown) => unknown; toClient?: (m: unknown) => unknown } = {}) {
  const toServer: unknown[] = [];
  const toClient: unknown[] = [];
  const server = new RpcServer<Methods, string>({
    handlers,
    params,
    send: (m) => {
      toClient.push(m);
      const out = wire.toClient ? wire.toClient(m) : m;
      if (out !== undefined) client.receive(out);
    },
    toError: (e) => (e instanceof Error ? e.message : String(e)),
  });
  const client: RpcClient<Methods, string> = new RpcClient<Methods, string>({
    send: (m) => {
      toServer.push(m);
      const out = wire.toServer ? wire.toServer(m) : m;
      if (out !== undefined) server.receive(out);
    },
    errorSchema: str,
    toError: (e) => new Error(e),
  });
  return { client, server, toServer, toClient };
}

const basic: Handlers<Methods> = {
  add: ({ a, b }) => a + b,
  name: ({ id }) => {
    if (id === 0) throw new Error("no such id");
    return `#${id}`;
  },
  count: async ({ to }, call) => {
    let i = 0;
    for (; i < to && !call.cancelled(); i++) {
      call.emit("ticked", i);
      await new Promise((r) => setImmediate(r));
    }
    return i;
  },
};

describe("rpc", () => {
  it("answers a request with its result, and an error with the handler's message", async () => {
    const { client, toServer } = pair(basic);
    assert.equal(await client.request("add", { a: 2, b: 3 }).result, 5);
    assert.deepEqual(toServer[0], { a: 2, b: 3, type: "add", requestId: 1 });
    await assert.rejects(client.request("name", { id: 0 }).result, /no such id/);
  });

  it("never resolves a request with a reply of another method or another id", async () => {
    const held: unknown[] = [];
    const { client } = pair(basic, { toClient: (m) => void held.push(m) });
    const add = client.request("add", { a: 1, b: 1 });
    const name = client.request("name", { id: 7 });
    const [addReply, nameReply] = held as Record<string, unknown>[];
    // The name reply relabelled with the add request's id: same id, wrong method.
    assert.equal(client.receive({ ...nameReply, requestId: add.requestId }), false);
    assert.equal(client.receive({ ...addReply, requestId: 99 }), false);
    assert.equal(client.receive({ type: "replied", requestId: add.requestId }), false, "no method");
    assert.equal(client.isPending(add.requestId), true);
    assert.equal(client.receive(addReply), true);
    assert.equal(client.receive(addReply), false, "a duplicate reply changes nothing");
    assert.equal(client.receive(nameReply), true);
    assert.equal(await add.result, 2);
    assert.equal(await name.result, "#7");
  });

  it("delivers events to the running request and stops it on cancel", async () => {
    const { client } = pair(basic);
    const ticks: number[] = [];
    const call = client.request("count", { to: 1_000_000 }, { ticked: (n) => ticks.push(n) });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(client.cancel(call.requestId), true);
    const done = await call.result;
    assert.ok(done > 0 && done < 1_000_000, `stopped after ${done}`);
    assert.deepEqual(
      ticks,
      Array.from({ length: done }, (_, i) => i),
    );
    assert.equal(client.cancel(call.requestId), false, "nothing to cancel once answered");
  });

  it("answers a request with invalid parameters with an error instead of running it", async () => {
    let ran = false;
    const { client } = pair({ ...basic, name: () => ((ran = true), "x") });
    await assert.rejects(client.request("name", { id: -3 }).result, {
      message: 'The parameters of name are not valid: field "id" must be a whole number of at least 0, not -3.',
    });
    assert.equal(ran, false);
  });

  it("fails a request locally when the other side is gone", async () => {
    const client = new RpcClient<Methods, string>({
      send: () => {
        throw new Error("channel closed");
      },
      errorSchema: str,
      toError: (e) => new Error(e),
    });
    await assert.rejects(client.request("add", { a: 1, b: 2 }).result, /channel closed/);
  });

  it("the webview schemas keep only known fields and refuse malformed messages", () => {
    assert.deepEqual(parseWebviewMessage({ type: "getLayer", requestId: 3, kind: "bn", index: 2, extra: "x" }), {
      type: "getLayer",
      requestId: 3,
      kind: "bn",
      index: 2,
    });
    assert.deepEqual(parseWebviewMessage({ type: "revealNode", node: "bn1", x: 1 }), { type: "revealNode", node: "bn1" });
    assert.deepEqual(parseWebviewMessage({ type: "cancel", requestId: 3 }), { type: "cancel", requestId: 3 });
    for (const bad of [
      null,
      "getLayer",
      { type: "getLayer", requestId: -1, kind: "bn", index: 0 },
      { type: "getLayer", requestId: 1, kind: "conv", index: 0 },
      { type: "runInspection" },
      { type: "revealNode", node: "" },
      { type: "overviewRendered", rows: 3, firstPaintMs: Infinity },
      { type: "toString" },
      { type: "constructor" },
    ])
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    // What the host logs for a refused message: the field and what was expected.
    assert.equal(
      webviewMessageProblem({ type: "revealNode", node: "" }),
      'field "node" must be a string of 1 to 4095 characters, not the string ""',
    );
    assert.equal(webviewMessageProblem({ type: "runInspection" }), 'field "withData" is missing (expected true or false)');
    assert.equal(
      webviewMessageProblem({ type: "getLayer", requestId: 1, kind: "conv", index: 0 }),
      'field "kind" must be one of "bn", "activation", not the string "conv"',
    );
    assert.equal(
      webviewMessageProblem({ type: "toString" }),
      'field "type" must be a BN Lens webview message type, not the string "toString"',
    );
    assert.equal(webviewMessageProblem(null), 'field "(top level)" must be a message object, not null');
    assert.equal(webviewMessageProblem({ type: "cancel", requestId: 3 }), undefined);
  });

  it("the inference process's schemas check types and leave ranges to the engine", () => {
    assert.equal(workerParams.inspect({ request: { modelPath: "m.onnx", samples: -1, mode: "fast" } }) !== undefined, true);
    assert.throws(() => workerParams.inspect({ request: { modelPath: "m.onnx", mode: "slow" } }), {
      name: "SchemaError",
      message: 'field "request.mode" must be one of "exact", "fast", "auto", not the string "slow"',
    });
    assert.throws(() => workerParams.inspect({ request: { modelPath: 3 } }), {
      name: "SchemaError",
      message: 'field "request.modelPath" must be a non-empty string, not 3',
    });
    assert.throws(() => workerParams.inspect({ request: {} }), {
      message: 'field "request.modelPath" is missing (expected a non-empty string)',
    });
  });
});
