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

type Frame = { array: unknown[]; split?: string } | { object: Record<string, unknown>; key: string | undefined };

/**
 * What a parser in split mode hands out (`take()`), in text order: each top-level field of the root object
 * once its value is complete, and, for the fields named at construction whose value is an array, each
 * element on its own and then the array's end. Neither is kept in the root, so the parser holds one
 * element at a time.
 */
export type JsonEvent =
  { kind: "field"; key: string; value: unknown } | { kind: "item"; key: string; value: unknown } | { kind: "end"; key: string };

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

/**
 * Parses JSON given with write(piece) calls; end() returns the value. With `split` (split mode), a root
 * object's fields are handed out by take() instead of kept (end() then returns an empty object).
 */
export class JsonPieceParser {
  private readonly stack: Frame[] = [];
  private readonly events: JsonEvent[] = [];

  constructor(
    /** Top-level fields whose array elements are handed out one by one; undefined: build the whole value. */
    private readonly split?: ReadonlySet<string>,
  ) {}

  /** The events completed since the last call (split mode). */
  take(): JsonEvent[] {
    return this.events.splice(0, this.events.length);
  }
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
          if ((c === "{" || c === "[") && this.inSplitArray()) {
            // An element of a split array (a report's layer): found whole, then read by the native parser.
            const end = this.elementEnd(text, i);
            if (end < 0) {
              if (!final) {
                stopAt = i;
                break;
              }
              this.skip = undefined;
            } else {
              let parsed: unknown;
              try {
                parsed = JSON.parse(text.slice(i, end + 1));
              } catch {
                parsed = undefined; // the generic path finds the problem and says where
              }
              if (parsed !== undefined) {
                this.value(parsed);
                this.afterValue();
                i = end + 1;
                continue;
              }
            }
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
            this.splitFrame = undefined;
            this.value(array, true);
            this.stack.push(this.splitFrame !== undefined ? { array, split: this.splitFrame } : { array });
            this.expect = Expect.ValueOrClose;
            i++;
            continue;
          }
          if (c === "{") {
            const object: Record<string, unknown> = {};
            this.value(object, true);
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

  // How far elementEnd got in the element that starts the carried text, so a long element is scanned once.
  private skip: { at: number; depth: number; inString: boolean } | undefined;

  private inSplitArray(): boolean {
    const top = this.stack[this.stack.length - 1];
    return this.split !== undefined && this.stack.length === 2 && "array" in top && top.split !== undefined;
  }

  /**
   * The index of the bracket closing the container opened at `start`, or -1 when the text ends first (the
   * scan resumes there with the next piece). Only brackets outside strings count; JSON.parse judges the rest.
   */
  private elementEnd(text: string, start: number): number {
    const resume = this.skip && start === 0 ? this.skip : { at: start, depth: 0, inString: false };
    this.skip = undefined;
    let { depth, inString } = resume;
    const n = text.length;
    let j = resume.at;
    for (; j < n; j++) {
      const ch = text.charCodeAt(j);
      if (inString) {
        if (ch === 0x5c) j++;
        else if (ch === 0x22) inString = false;
      } else if (ch === 0x22) inString = true;
      else if (ch === 0x7b || ch === 0x5b) depth++;
      else if (ch === 0x7d || ch === 0x5d) {
        if (--depth === 0) return j;
      }
    }
    // After a backslash at the very end, j is one past the text: the scan resumes after the escaped character.
    this.skip = { at: j - start, depth, inString };
    return -1;
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

  /** Where a value goes: into its parent, or (split mode) out as an event; `open` for a container just begun. */
  private value(v: unknown, open = false): void {
    const top = this.stack[this.stack.length - 1];
    if (this.split && top && this.stack.length <= 2) {
      const handed = this.handOut(top, v, open);
      if (handed) return;
    }
    if (!top) this.root = v;
    else if ("array" in top) top.array.push(v);
    else if (top.key === "__proto__")
      // Like JSON.parse: an own property named __proto__, not a new prototype.
      Object.defineProperty(top.object, top.key, { value: v, writable: true, enumerable: true, configurable: true });
    else top.object[top.key as string] = v;
  }

  /**
   * Split mode: a value directly in the root object, or an element of a split array, is handed out (a
   * container once it closes) instead of stored. Returns whether the value was taken care of.
   */
  private handOut(top: Frame, v: unknown, open: boolean): boolean {
    if (this.stack.length === 1 && "object" in top) {
      const key = top.key as string;
      if (open) {
        if (Array.isArray(v) && this.split!.has(key)) this.splitFrame = key;
        return true;
      }
      this.events.push({ kind: "field", key, value: v });
      return true;
    }
    if (this.stack.length === 2 && "array" in top && top.split !== undefined) {
      if (!open) this.events.push({ kind: "item", key: top.split, value: v });
      return true;
    }
    return false;
  }

  // Set by handOut when the container just opened is a split array (read by the "[" case).
  private splitFrame: string | undefined;

  private afterValue(): void {
    this.expect = this.stack.length === 0 ? Expect.End : Expect.CommaOrClose;
  }

  private close(c: string, at: number): void {
    const top = this.stack.pop();
    if (!top || (c === "]") !== "array" in top) this.fail(`Unexpected '${c}'`, at);
    if (this.split && this.stack.length > 0 && this.stack.length <= 2) {
      const container = "array" in top ? top.array : top.object;
      if ("array" in top && top.split !== undefined) this.events.push({ kind: "end", key: top.split });
      else this.handOut(this.stack[this.stack.length - 1], container, false);
    }
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
