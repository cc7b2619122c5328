// Plain-Node unit test of the export decision (src/extension/exports.ts): a normal activation exports
// only a frozen read-only view; the test API, with its trust and prompt hooks, only in test mode.
import * as assert from "node:assert/strict";
import { exportsFor } from "../../src/extension/exports";

describe("extension exports", () => {
  const report = { id: "r" } as never;
  const reportPromise = Promise.resolve(report);
  let trusted: (() => boolean) | undefined;
  const testApi = {
    lastReport: () => reportPromise,
    client: { inspect: () => "runs any model" },
    testHooks: {
      get trusted() {
        return trusted;
      },
      set trusted(t: (() => boolean) | undefined) {
        trusted = t;
      },
    },
  };

  it("test mode: the whole test API", () => {
    assert.equal(exportsFor(true, testApi), testApi);
  });

  it("normal mode: lastReport only, frozen; no client, no hooks, trust cannot be replaced", () => {
    const api = exportsFor(false, testApi) as Record<string, unknown>;
    assert.deepEqual(Object.keys(api), ["lastReport"]);
    assert.equal((api.lastReport as () => unknown)(), reportPromise);
    assert.ok(Object.isFrozen(api));
    assert.equal(api.client, undefined);
    assert.equal(api.testHooks, undefined);
    assert.throws(() => {
      "use strict";
      (api as { testHooks?: unknown }).testHooks = { trusted: () => true };
    }, TypeError);
    assert.equal(trusted, undefined, "the trust override stays unset");
    // Nothing reachable from the public object leads back to the test API.
    assert.equal(Object.getPrototypeOf(api), Object.prototype);
    assert.doesNotMatch(String(api.lastReport), /testApi|client|testHooks/);
  });
});
