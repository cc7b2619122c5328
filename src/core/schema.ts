/**
 * BN Lens's one schema mechanism, for everything that crosses a boundary: JSON read from disk (reports
 * given to `merge`, reports restored in VS Code) and messages (webview -> host, host <-> inference
 * process). A schema walks the value along itself, never deeper than it goes, so a value nested 100,000
 * levels deep is refused at the first level where the schema expects something else. The first mismatch
 * throws a SchemaError naming the field (`layers[3].pre.count[5]`) and what was expected; `parse` turns
 * that into undefined where the caller only needs to drop a bad message.
 *
 * A schema returns the value it accepted, typed: as it is (`object`, for reports, which are read whole),
 * or as a fresh copy holding only the fields it names (`struct`, for messages, so nothing unexpected
 * travels on). Pure TypeScript: the protocol and the webview use it too.
 */

/** The first place where a value does not match its schema. */
export class SchemaError extends Error {
  constructor(
    /** Where, as `a.b[3].c`; "" for the value itself. */
    readonly field: string,
    /** What was expected, as a noun phrase ("a whole number of at least 0"). */
    readonly expected: string,
    /** What was found, described in a few words; undefined when the field is missing. */
    readonly found: string | undefined,
  ) {
    super(
      found === undefined
        ? `field "${field}" is missing (expected ${expected})`
        : `field "${field || "(top level)"}" must be ${expected}, not ${found}`,
    );
    this.name = "SchemaError";
  }
}

/**
 * A schema: checks a value at a field path (default: the top level) and returns it typed; throws
 * SchemaError on the first mismatch. `what` says what it accepts; `optional` marks one that accepts absence.
 */
export interface Schema<T> {
  (value: unknown, field?: string): T;
  readonly what: string;
  readonly optional?: true;
}

/** A schema whose accepted type does not matter to the caller. */
export type Check = Schema<unknown>;

/** The type a schema accepts. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

function schema<T>(what: string, run: (value: unknown, field: string) => T): Schema<T> {
  return Object.assign((v: unknown, f = "") => run(v, f), { what });
}

/** A schema from what it accepts and how it tests; it returns the value as it is. */
export function check(what: string, test: (value: unknown, field: string) => void): Check {
  return schema(what, (v, f) => {
    test(v, f);
    return v;
  });
}

/** The value if it fits the schema, else undefined (for messages, which are dropped rather than answered). */
export function parse<T>(s: Schema<T>, value: unknown): T | undefined {
  try {
    return s(value);
  } catch (e) {
    if (e instanceof SchemaError) return undefined;
    throw e;
  }
}

/** A few words about a value, for the sentence: the string "NaN", null, an array of 3, an object... */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case "string":
      return `the string ${JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value)}`;
    case "number":
    case "boolean":
      return String(value);
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

/** Fails at `field` unless `ok`. */
export function expect(ok: boolean, field: string, expected: string, value: unknown): void {
  if (!ok) throw new SchemaError(field, expected, describeValue(value));
}

function leaf<T>(what: string, ok: (v: unknown) => boolean): Schema<T> {
  return schema(what, (v, f) => {
    expect(ok(v), f, what, v);
    return v as T;
  });
}

/** A finite number, optionally bounded below. */
export function num(min = -Infinity): Schema<number> {
  const what = min === -Infinity ? "a finite number" : `a finite number of at least ${min}`;
  return leaf(what, (v) => typeof v === "number" && Number.isFinite(v) && v >= min);
}

/** Any number, NaN and infinities included (for values whose range the receiver checks and explains itself). */
export const anyNumber: Schema<number> = leaf("a number", (v) => typeof v === "number");

/** A whole number (safe integer) of at least `min`, at most `max`. */
export function int(min = 0, max = Number.MAX_SAFE_INTEGER): Schema<number> {
  const what = max === Number.MAX_SAFE_INTEGER ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`;
  return leaf(what, (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max);
}

/** A string of `min` to `max` characters. */
export function string(min = 0, max = Number.MAX_SAFE_INTEGER): Schema<string> {
  const what =
    max !== Number.MAX_SAFE_INTEGER
      ? `a string of ${min} to ${max} characters`
      : min === 1
        ? "a non-empty string"
        : min > 0
          ? `a string of at least ${min} characters`
          : "a string";
  return leaf(what, (v) => typeof v === "string" && v.length >= min && v.length <= max);
}

/** Any string. */
export const str: Schema<string> = string();

/** true or false. */
export const bool: Schema<boolean> = leaf("true or false", (v) => typeof v === "boolean");

/** One of the given strings or numbers. */
export function literal<const T extends readonly (string | number)[]>(...values: T): Schema<T[number]> {
  const what = values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`;
  return leaf(what, (v) => (values as readonly unknown[]).includes(v));
}

/** null, or what `inner` accepts. */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  const what = `${inner.what} or null`;
  return schema(what, (v, f) => {
    if (v === null) return null;
    try {
      return inner(v, f);
    } catch (e) {
      // The mismatch at this very field: say that null would do too.
      if (e instanceof SchemaError && e.field === f && e.found !== undefined) throw new SchemaError(f, what, e.found);
      throw e;
    }
  });
}

/** What `inner` accepts, or nothing (undefined): a field that may be absent. */
export function optional<T>(inner: Schema<T>): Schema<T | undefined> {
  return Object.assign(
    schema<T | undefined>(inner.what, (v, f) => (v === undefined ? undefined : inner(v, f))),
    { optional: true as const },
  );
}

/**
 * An array whose every item passes `item`; `length`, when given, is the exact length required. The array
 * is returned as it is unless an item schema copied its item (a struct), so large reports are not copied.
 */
export function array<T>(item: Schema<T>, length?: number, what?: string): Schema<T[]> {
  const expected = what ?? (length === undefined ? `an array of ${item.what.replace(/^an? /, "")}s` : `an array of ${length}`);
  return schema(expected, (v, f) => {
    expect(Array.isArray(v) && (length === undefined || v.length === length), f, expected, v);
    const a = v as unknown[];
    let out: T[] | undefined;
    for (let i = 0; i < a.length; i++) {
      const x = item(a[i], `${f}[${i}]`);
      if (out) out.push(x);
      else if (x !== a[i]) (out = a.slice(0, i) as T[]).push(x);
    }
    return out ?? (a as T[]);
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * An object with every key of T checked (the type keeps the schema complete); `optional` keys may be
 * absent. Returned as it is, other keys included (reports are read whole, and may come from a newer BN Lens).
 */
export function object<T>(what: string, shape: { [K in keyof T]-?: Check }, optional: readonly (keyof T)[] = []): Schema<T> {
  const keys = Object.keys(shape) as (keyof T & string)[];
  return schema(what, (v, f) => {
    expect(isRecord(v), f, what, v);
    const o = v as Record<string, unknown>;
    for (const k of keys) {
      const at = f ? `${f}.${k}` : k;
      if (!has(o, k) || o[k] === undefined) {
        if (optional.includes(k)) continue;
        throw new SchemaError(at, shape[k].what, undefined);
      }
      shape[k](o[k], at);
    }
    return v as T;
  });
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
/** The object type a shape describes: fields whose schema accepts undefined are optional. */
export type ObjectOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };

/**
 * An object with these fields, its type read off the shape (fields wrapped in `optional` may be absent),
 * returned as a fresh object holding only these fields: what a message carries and nothing else.
 */
export function struct<S extends Shape>(shape: S, what = "an object"): Schema<ObjectOf<S>> {
  const entries = Object.entries(shape);
  return schema(what, (v, f) => {
    expect(isRecord(v), f, what, v);
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, s] of entries) {
      const at = f ? `${f}.${k}` : k;
      const x = has(o, k) ? o[k] : undefined;
      if (x === undefined) {
        if (s.optional) continue;
        throw new SchemaError(at, s.what, undefined);
      }
      out[k] = s(x, at);
    }
    return out as ObjectOf<S>;
  });
}

/** An object whose values all pass `item` (keys free). */
export function record(item: Check, what = "an object"): Check {
  return check(what, (v, f) => {
    expect(isRecord(v), f, what, v);
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) item(x, `${f}.${k}`);
  });
}
