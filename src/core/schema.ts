/**
 * One small schema mechanism for JSON read from disk (reports given to `merge`, reports restored in VS
 * Code). A check walks the value along the schema, never deeper than the schema goes, so a value nested
 * 100,000 levels deep is refused at the first level where the schema expects something else. The first
 * mismatch throws a SchemaError naming the field (`layers[3].pre.count[5]`) and what was expected.
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

/** Checks a value at a field path; throws SchemaError on the first mismatch. `what` says what it accepts. */
export interface Check {
  (value: unknown, field: string): void;
  readonly what: string;
}

/** A check from what it accepts and how it tests. */
export function check(what: string, test: (value: unknown, field: string) => void): Check {
  return Object.assign((v: unknown, f: string) => test(v, f), { what });
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

/** A finite number, optionally bounded below. */
export function num(min = -Infinity): Check {
  const what = min === -Infinity ? "a finite number" : `a finite number of at least ${min}`;
  return check(what, (v, f) => expect(typeof v === "number" && Number.isFinite(v) && v >= min, f, what, v));
}

/** A whole number (safe integer) of at least `min`, at most `max`. */
export function int(min = 0, max = Number.MAX_SAFE_INTEGER): Check {
  const what = max === Number.MAX_SAFE_INTEGER ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`;
  return check(what, (v, f) => expect(typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max, f, what, v));
}

/** Any string. */
export const str: Check = check("a string", (v, f) => expect(typeof v === "string", f, "a string", v));

/** true or false. */
export const bool: Check = check("true or false", (v, f) => expect(typeof v === "boolean", f, "true or false", v));

/** One of the given strings or numbers. */
export function literal(...values: readonly (string | number)[]): Check {
  const what = values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`;
  return check(what, (v, f) => expect(values.includes(v as string | number), f, what, v));
}

/** null, or what `inner` accepts. */
export function nullable(inner: Check): Check {
  const what = `${inner.what} or null`;
  return check(what, (v, f) => {
    if (v === null) return;
    try {
      inner(v, f);
    } catch (e) {
      // The mismatch at this very field: say that null would do too.
      if (e instanceof SchemaError && e.field === f && e.found !== undefined) throw new SchemaError(f, what, e.found);
      throw e;
    }
  });
}

/** An array whose every item passes `item`; `length`, when given, is the exact length required. */
export function array(item: Check, length?: number, what?: string): Check {
  const expected = what ?? (length === undefined ? `an array of ${item.what.replace(/^an? /, "")}s` : `an array of ${length}`);
  return check(expected, (v, f) => {
    expect(Array.isArray(v) && (length === undefined || v.length === length), f, expected, v);
    const a = v as unknown[];
    for (let i = 0; i < a.length; i++) item(a[i], `${f}[${i}]`);
  });
}

/** An object with every key of T checked (the type keeps the schema complete); `optional` keys may be absent. */
export function object<T>(what: string, shape: { [K in keyof T]-?: Check }, optional: readonly (keyof T)[] = []): Check {
  const keys = Object.keys(shape) as (keyof T & string)[];
  return check(what, (v, f) => {
    expect(typeof v === "object" && v !== null && !Array.isArray(v), f, what, v);
    const o = v as Record<string, unknown>;
    for (const k of keys) {
      const at = f ? `${f}.${k}` : k;
      if (!Object.prototype.hasOwnProperty.call(o, k) || o[k] === undefined) {
        if (optional.includes(k)) continue;
        throw new SchemaError(at, shape[k].what, undefined);
      }
      shape[k](o[k], at);
    }
  });
}

/** An object whose values all pass `item` (keys free). */
export function record(item: Check, what = "an object"): Check {
  return check(what, (v, f) => {
    expect(typeof v === "object" && v !== null && !Array.isArray(v), f, what, v);
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) item(x, `${f}.${k}`);
  });
}
