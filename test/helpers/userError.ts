import * as assert from "node:assert/strict";
import { isUserError } from "../../src/core/errors";

/** Asserts that `fn` throws a UserError of `kind` whose message is exactly `message`. */
export function throwsUser(fn: () => unknown, message: string, kind = "data"): void {
  assert.throws(fn, (e: unknown) => checkUserError(e, message, kind));
}

/** Asserts that `promise` rejects with a UserError of `kind` whose message is exactly `message`. */
export async function rejectsUser(promise: Promise<unknown>, message: string, kind = "data"): Promise<void> {
  await assert.rejects(promise, (e: unknown) => checkUserError(e, message, kind));
}

function checkUserError(e: unknown, message: string, kind: string): true {
  assert.ok(isUserError(e), `expected a UserError, got ${String((e as Error)?.stack ?? e)}`);
  assert.equal(e.message, message);
  assert.equal(e.kind, kind);
  return true;
}
