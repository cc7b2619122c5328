/**
 * The shared atomic writer (src/node/writeFileAtomic.ts), used by the CLI and by VS Code's Export Report:
 * a reader sees the old file or the whole new one, a failed write leaves the old file and no temporary
 * file, a report written in pieces is the same JSON as written at once.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compactJsonPieces } from "../../src/core/inspect/reportJson";
import { writeFileAtomic, writeFileAtomicAsync } from "../../src/node/writeFileAtomic";
import { rejectsUser, throwsUser } from "../helpers/userError";

describe("writeFileAtomic (CLI and Export Report)", () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-atomic-")))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("writes pieces in order, the same bytes as the joined text, and leaves no temporary file", async () => {
    const pieces = Array.from({ length: 5000 }, (_, i) => `${i},`.repeat(100));
    const file = path.join(tmp, "out.json");
    writeFileAtomic(file, pieces);
    assert.equal(fs.readFileSync(file, "utf8"), pieces.join(""));
    const other = path.join(tmp, "async.json");
    await writeFileAtomicAsync(other, [Buffer.from("head "), ...pieces, Buffer.from(" tail")]);
    assert.equal(fs.readFileSync(other, "utf8"), `head ${pieces.join("")} tail`);
    assert.deepEqual(fs.readdirSync(tmp).sort(), ["async.json", "out.json"]);
  });

  it("a write that fails halfway leaves the old file as it was and no temporary file", async () => {
    const file = path.join(tmp, "report.json");
    fs.writeFileSync(file, "old report\n");
    function* failing() {
      yield "x".repeat(3 << 20); // more than one write's worth reaches the temporary file first
      throw new RangeError("Invalid string length");
    }
    const sentence = `Cannot write the report to ${file}: it is too large to serialise (Invalid string length); nothing was written.`;
    throwsUser(() => writeFileAtomic(file, failing()), sentence, "resource");
    await rejectsUser(writeFileAtomicAsync(file, failing()), sentence, "resource");
    assert.equal(fs.readFileSync(file, "utf8"), "old report\n");
    assert.deepEqual(fs.readdirSync(tmp), ["report.json"]);
  });

  it("replaces the file by a rename, never in place: a hard link to the old file keeps the old data", async () => {
    const file = path.join(tmp, "report.json");
    fs.writeFileSync(file, "old\n");
    const link = path.join(tmp, "link.json");
    fs.linkSync(file, link);
    writeFileAtomic(file, "new\n");
    assert.equal(fs.readFileSync(link, "utf8"), "old\n");
    assert.equal(fs.readFileSync(file, "utf8"), "new\n");
    fs.rmSync(link);
    fs.linkSync(file, link);
    await writeFileAtomicAsync(file, ["newer", "\n"]);
    assert.equal(fs.readFileSync(link, "utf8"), "new\n");
    assert.equal(fs.readFileSync(file, "utf8"), "newer\n");
  });

  it("a folder that does not exist is one sentence", () => {
    const file = path.join(tmp, "gone", "r.json");
    throwsUser(
      () => writeFileAtomic(file, "{}"),
      `Cannot write the report to ${file}: its folder no longer exists (ENOENT); nothing was written.`,
      "resource",
    );
  });

  it("while an asynchronous write runs, a reader sees the old file or the whole new one, never a part", async () => {
    const file = path.join(tmp, "report.json");
    const old = `${"o".repeat(1 << 20)}\n`;
    fs.writeFileSync(file, old);
    const fresh = Array.from({ length: 64 }, (_, i) => `${String(i).padStart(4, "0")}${"n".repeat((1 << 20) - 4)}`);
    const whole = fresh.join("");
    const seen = { old: 0, fresh: 0 };
    let done = false;
    const reader = (async () => {
      while (!done) {
        const text = await fs.promises.readFile(file, "utf8");
        if (text === old) seen.old++;
        else if (text === whole) seen.fresh++;
        else assert.fail(`a reader saw ${text.length} characters, neither the old file nor the new one`);
      }
    })();
    await writeFileAtomicAsync(file, fresh);
    done = true;
    await reader;
    assert.ok(seen.old > 0, "the reader ran while the write was under way");
    assert.equal(fs.readFileSync(file, "utf8"), whole);
  });

  it("a report written in pieces parses to the same value as the object it came from", () => {
    const value = { a: [1, 2.5, null], b: { c: [[1, 2], [3]], d: "x\ny", e: [] as number[], f: {} }, g: [{ h: true }] };
    const text = [...compactJsonPieces(value)].join("");
    assert.deepEqual(JSON.parse(text), value);
    assert.equal(
      text.split("\n").find((l) => l.includes('"a"')),
      ' "a": [1,2.5,null],',
    );
  });
});
