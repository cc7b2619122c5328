/**
 * A JSON parser fed the text in pieces. A report of 300 layers x 2,048 channels is about 700 MB of JSON,
 * more than the longest string V8 can hold (about 512 M characters), so it cannot be read as one string and
 * given to JSON.parse; this parser reads it a few megabytes at a time and builds the same value JSON.parse
 * would. It keeps its own stack (no recursion), so nesting depth costs memory, never the call stack.
 */

/** Why a text is not JSON, with the character offset where that was found. */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    /** Characters read before the problem. */
    readonly offset: number,
  ) {
    super(message);
  }
}

type Frame = { array: unknown[] } | { object: Record<string, unknown>; key: string | undefined };

// What the next token may be.
const enum Expect {
  Value,
  ValueOrClose,
  Key,
  KeyOrClose,
  Colon,
  CommaOrClose,
  End,
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const NESTED = /[[{"]/;
const LITERALS: Record<string, [string, unknown]> = { t: ["true", true], f: ["false", false], n: ["null", null] };

/** Parses JSON given with write(piece) calls; end() returns the value. */
export class JsonPieceParser {
  private readonly stack: Frame[] = [];
  private expect = Expect.Value;
  private root: unknown = undefined;
  private carry = "";
  private offset = 0;

  /** Reads the next piece of the text (pieces may split tokens anywhere). */
  write(piece: string): void {
    this.scan(this.carry + piece, false);
  }

  /** The parsed value, once the whole text was written. */
  end(): unknown {
    this.scan(this.carry, true);
    if (this.expect !== Expect.End) throw new JsonSyntaxError("Unexpected end of JSON input", this.offset);
    return this.root;
  }

  private fail(what: string, at: number): never {
    throw new JsonSyntaxError(`${what} at position ${this.offset + at}`, this.offset + at);
  }

  private scan(text: string, final: boolean): void {
    let i = 0;
    const n = text.length;
    // A token that may continue in the next piece is kept in `carry` and read again with it.
    let stopAt = -1;
    while (i < n) {
      const ch = text.charCodeAt(i);
      if (ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) {
        i++;
        continue;
      }
      const c = text[i];
      switch (this.expect) {
        case Expect.Colon:
          if (c !== ":") this.fail(`Expected ':' but found '${c}'`, i);
          this.expect = Expect.Value;
          i++;
          continue;
        case Expect.CommaOrClose:
          if (c === ",") {
            this.expect = "array" in this.top() ? Expect.Value : Expect.Key;
            i++;
            continue;
          }
          if (c === "]" || c === "}") {
            this.close(c, i);
            i++;
            continue;
          }
          this.fail(`Expected ',' or a closing bracket but found '${c}'`, i);
          break;
        case Expect.End:
          this.fail(`Unexpected '${c}' after the JSON value`, i);
          break;
        case Expect.KeyOrClose:
        case Expect.Key: {
          if (c === "}" && this.expect === Expect.KeyOrClose) {
            this.close(c, i);
            i++;
            continue;
          }
          if (c !== '"') this.fail(`Expected a property name but found '${c}'`, i);
          const end = stringEnd(text, i);
          if (end < 0) {
            stopAt = i;
            break;
          }
          (this.top() as { key: string | undefined }).key = this.string(text, i, end);
          this.expect = Expect.Colon;
          i = end + 1;
          continue;
        }
        case Expect.ValueOrClose:
        case Expect.Value: {
          if (c === "]" && this.expect === Expect.ValueOrClose) {
            this.close(c, i);
            i++;
            continue;
          }
          if (c === "[") {
            // Most of a report is flat arrays of numbers, one per line: the native parser reads those.
            const close = text.indexOf("]", i);
            if (close > 0) {
              const flat = text.slice(i, close + 1);
              if (!NESTED.test(flat.slice(1))) {
                let parsed: unknown;
                try {
                  parsed = JSON.parse(flat);
                } catch {
                  parsed = undefined; // the generic path finds the problem and says where
                }
                if (parsed !== undefined) {
                  this.value(parsed);
                  this.afterValue();
                  i = close + 1;
                  continue;
                }
              }
            }
            const array: unknown[] = [];
            this.value(array);
            this.stack.push({ array });
            this.expect = Expect.ValueOrClose;
            i++;
            continue;
          }
          if (c === "{") {
            const object: Record<string, unknown> = {};
            this.value(object);
            this.stack.push({ object, key: undefined });
            this.expect = Expect.KeyOrClose;
            i++;
            continue;
          }
          if (c === '"') {
            const end = stringEnd(text, i);
            if (end < 0) {
              stopAt = i;
              break;
            }
            this.value(this.string(text, i, end));
            this.afterValue();
            i = end + 1;
            continue;
          }
          const literal = LITERALS[c];
          if (literal) {
            const [word, v] = literal;
            if (n - i < word.length && !final && word.startsWith(text.slice(i))) {
              stopAt = i;
              break;
            }
            if (text.slice(i, i + word.length) !== word) this.fail(`Unexpected token '${c}'`, i);
            this.value(v);
            this.afterValue();
            i += word.length;
            continue;
          }
          // A number runs to the first character that cannot be part of one; at the end of a piece it may go on.
          let end = i;
          while (end < n && isNumberChar(text.charCodeAt(end))) end++;
          if (end === n && !final) {
            stopAt = i;
            break;
          }
          NUMBER.lastIndex = i;
          const m = NUMBER.exec(text);
          if (!m || i + m[0].length !== end) this.fail(`Unexpected token '${c}'`, i);
          this.value(Number(m[0]));
          this.afterValue();
          i = end;
          continue;
        }
      }
      break;
    }
    if (stopAt >= 0 && final) this.fail("Unterminated token", stopAt);
    const keep = stopAt >= 0 ? stopAt : n;
    this.carry = text.slice(keep);
    this.offset += keep;
  }

  private top(): Frame {
    return this.stack[this.stack.length - 1];
  }

  private string(text: string, start: number, end: number): string {
    const raw = text.slice(start, end + 1);
    // Escapes and control characters are JSON.parse's to judge; most strings have no backslash.
    if (raw.indexOf("\\") < 0 && !hasControlCharacter(raw)) return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      return this.fail("Bad string", start);
    }
  }

  private value(v: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) this.root = v;
    else if ("array" in top) top.array.push(v);
    else if (top.key === "__proto__")
      // Like JSON.parse: an own property named __proto__, not a new prototype.
      Object.defineProperty(top.object, top.key, { value: v, writable: true, enumerable: true, configurable: true });
    else top.object[top.key as string] = v;
  }

  private afterValue(): void {
    this.expect = this.stack.length === 0 ? Expect.End : Expect.CommaOrClose;
  }

  private close(c: string, at: number): void {
    const top = this.stack.pop();
    if (!top || (c === "]") !== "array" in top) this.fail(`Unexpected '${c}'`, at);
    this.afterValue();
  }
}

/** The index of the quote closing the string opened at `start`, or -1 when the text ends first. */
function stringEnd(text: string, start: number): number {
  let j = start + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return -1;
    let slashes = 0;
    for (let k = q - 1; k > start && text.charCodeAt(k) === 0x5c; k--) slashes++;
    if (slashes % 2 === 0) return q;
    j = q + 1;
  }
}

/** Digits, sign, decimal point and exponent: the characters a JSON number is made of. */
function isNumberChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x2b || code === 0x2e || code === 0x65 || code === 0x45;
}

function hasControlCharacter(s: string): boolean {
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) < 0x20) return true;
  return false;
}
