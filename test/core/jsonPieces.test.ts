// The piecewise JSON parser (src/core/jsonPieces.ts) against JSON.parse: the same value for every way of
// cutting a text into pieces, and a refusal exactly where JSON.parse refuses.
import * as assert from "node:assert/strict";
import { JsonPieceParser, JsonSyntaxError, type JsonEvent } from "../../src/core/jsonPieces";

function parsePieces(pieces: string[]): unknown {
  const p = new JsonPieceParser();
  for (const piece of pieces) p.write(piece);
  return p.end();
}

const VALID = [
  '{"a": [1, -2.5e-3, 0, 1E+20, true, false, null], "b": {"c": "x\\"y\\\\", "d": []}, "e": {}}',
  '[[[]], [{}], "\\u00e9\\n", -0, 123456789012345678901234567890]',
  '  "just a string"  ',
  "42",
  "null",
  '{"__proto__": {"polluted": true}, "k": 1}',
  '["ünïcödé €", "😀", "\\ud83d\\ude00"]',
];
const INVALID = [
  "",
  "[1,]",
  '{"a" 1}',
  "[1 2]",
  "01",
  "-",
  "1.",
  "[tru]",
  "nul",
  '"open',
  '{"a":1}}',
  "[1]x",
  '"tab\there"',
  "{,}",
  "]",
  "[-]",
];

describe("piecewise JSON parser", () => {
  it("gives JSON.parse's value for every split of each text into two and three pieces", () => {
    for (const text of VALID) {
      const expected = JSON.parse(text) as unknown;
      for (let i = 0; i <= text.length; i++) {
        assert.deepEqual(parsePieces([text.slice(0, i), text.slice(i)]), expected, `${text} cut at ${i}`);
        for (let j = i; j <= text.length; j += 3)
          assert.deepEqual(parsePieces([text.slice(0, i), text.slice(i, j), text.slice(j)]), expected, `${text} cut at ${i}, ${j}`);
      }
    }
  });

  it("keeps __proto__ as an own property, as JSON.parse does", () => {
    const v = parsePieces([VALID[5]]) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.ok(Object.prototype.hasOwnProperty.call(v, "__proto__"));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("refuses what JSON.parse refuses, however the text is cut", () => {
    for (const text of INVALID) {
      assert.throws(() => JSON.parse(text), SyntaxError, `JSON.parse accepts ${text}`);
      for (let i = 0; i <= text.length; i++)
        assert.throws(() => parsePieces([text.slice(0, i), text.slice(i)]), JsonSyntaxError, `${JSON.stringify(text)} cut at ${i}`);
    }
  });

  it("reads random documents written one character per piece, and 100,000 levels of nesting", () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const gen = (depth: number): unknown => {
      const r = rnd();
      if (depth > 4 || r < 0.3) return rnd() < 0.5 ? Math.round((rnd() - 0.5) * 1e6) / 1e3 : rnd() < 0.5 ? `s${rnd()}"\\` : rnd() < 0.5;
      if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 5) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 5) }, (_, k) => [`k${k}`, gen(depth + 1)]));
    };
    for (let t = 0; t < 200; t++) {
      const text = JSON.stringify(gen(0), null, t % 2);
      assert.deepEqual(parsePieces([...text]), JSON.parse(text));
    }
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    let v = parsePieces([deep.slice(0, 77_777), deep.slice(77_777)]);
    let depth = 0;
    while (Array.isArray(v) && v.length === 1) [v, depth] = [v[0], depth + 1];
    assert.equal(depth, 99_999);
  });

  describe("split mode (a report read layer by layer)", () => {
    const SPLIT = new Set(["layers", "activations"]);
    /** The events of a text cut into `pieces`, taken after every piece as a streaming reader does. */
    function events(pieces: string[]): JsonEvent[] {
      const p = new JsonPieceParser(SPLIT);
      const out: JsonEvent[] = [];
      for (const piece of pieces) {
        p.write(piece);
        out.push(...p.take());
      }
      assert.deepEqual(p.end(), {}, "nothing is kept in the root");
      return [...out, ...p.take()];
    }
    /** The object the events describe, rebuilt: what JSON.parse gives for the whole text. */
    function rebuilt(list: JsonEvent[]): Record<string, unknown> {
      const o: Record<string, unknown> = {};
      for (const e of list) {
        if (e.kind === "field") o[e.key] = e.value;
        else if (e.kind === "item") ((o[e.key] ??= []) as unknown[]).push(e.value);
        else o[e.key] ??= [];
      }
      return o;
    }
    const layer = (k: number) => ({ node: `bn${k}`, pre: { count: [k, 2, 3], h: [[1], [2, 3]], s: 'q"}]\\' }, e: {} });
    const TEXTS = [
      JSON.stringify(
        { a: 1, model: { name: "m", inputs: [{ d: [1, null] }] }, layers: [0, 1, 2].map(layer), activations: [], z: [1] },
        null,
        1,
      ),
      JSON.stringify({ layers: [layer(5)], activations: [layer(6), 7, "x", [8, [9]]], warnings: [{ m: "\\" }] }),
      '{"layers": [1, 2], "activations": {"not": "an array"}, "x": null}',
      '{"layers": [ ], "deep": [[[[]]]], "s": "\\u00e9\\\\"}',
    ];

    it("hands out each top-level field and each element of layers and activations, for every cut into two pieces", () => {
      for (const text of TEXTS) {
        const whole = JSON.parse(text) as Record<string, unknown>;
        for (let i = 0; i <= text.length; i++) {
          const list = events([text.slice(0, i), text.slice(i)]);
          assert.deepEqual(rebuilt(list), whole, `${text} cut at ${i}`);
          // Layers arrive one by one, in order, then their end.
          if (Array.isArray(whole.layers) && (whole.layers as unknown[]).some((l) => typeof l === "object")) {
            const items = list.filter((e) => e.key === "layers");
            assert.equal(items.length, (whole.layers as unknown[]).length + 1);
            assert.equal(items[items.length - 1].kind, "end");
          }
        }
      }
    });

    it("reads a layer one character at a time, escapes and brackets in strings included", () => {
      const text = TEXTS[0];
      assert.deepEqual(rebuilt(events([...text])), JSON.parse(text));
    });

    it("refuses a text cut off or damaged inside a layer, however it is cut", () => {
      const text = TEXTS[0];
      const inLayer = text.indexOf('"bn1"');
      for (const bad of [text.slice(0, inLayer + 20), text.slice(0, inLayer) + "]" + text.slice(inLayer), text.replace('"bn1"', "bn1")]) {
        for (let i = 0; i <= bad.length; i += 7)
          assert.throws(() => events([bad.slice(0, i), bad.slice(i)]), JsonSyntaxError, `${JSON.stringify(bad)} cut at ${i}`);
      }
    });
  });
});
