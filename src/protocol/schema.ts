/**
 * The one way BN Lens checks a message that crossed a boundary (webview -> host, host <-> inference process)
 * before acting on it: small composable validators that return a fresh value holding only the fields they
 * know, or INVALID. Pure TypeScript (the webview bundles it too).
 */

/** What a validator returns for a value that does not fit. */
export const INVALID: unique symbol = Symbol("invalid");

/** A validator: the value, typed and copied (unknown object keys dropped), or INVALID. */
export type Schema<T> = (value: unknown) => T | typeof INVALID;

/** The type a schema accepts. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
/** The object type a shape describes: fields whose schema accepts undefined are optional. */
export type ObjectOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Validators, by kind of value. */
export const s = {
  /** A safe integer, at least `min` (default 0). */
  int:
    (min = 0): Schema<number> =>
    (v) =>
      typeof v === "number" && Number.isSafeInteger(v) && v >= min ? v : INVALID,
  /** A finite number. */
  number: (): Schema<number> => (v) => (typeof v === "number" && Number.isFinite(v) ? v : INVALID),
  /** Any number, NaN and infinities included (for values whose range the receiver checks itself). */
  anyNumber: (): Schema<number> => (v) => (typeof v === "number" ? v : INVALID),
  boolean: (): Schema<boolean> => (v) => (typeof v === "boolean" ? v : INVALID),
  /** A string of `min` to `max` characters. */
  string:
    (min = 0, max = Number.MAX_SAFE_INTEGER): Schema<string> =>
    (v) =>
      typeof v === "string" && v.length >= min && v.length <= max ? v : INVALID,
  /** One of the given strings. */
  literal:
    <const T extends readonly string[]>(...values: T): Schema<T[number]> =>
    (v) =>
      typeof v === "string" && (values as readonly string[]).includes(v) ? (v as T[number]) : INVALID,
  /** The schema's value, or undefined when absent. */
  optional:
    <T>(schema: Schema<T>): Schema<T | undefined> =>
    (v) =>
      v === undefined ? undefined : schema(v),
  /** An array of at most `max` items, each valid. */
  array:
    <T>(item: Schema<T>, max = Number.MAX_SAFE_INTEGER): Schema<T[]> =>
    (v) => {
      if (!Array.isArray(v) || v.length > max) return INVALID;
      const out: T[] = [];
      for (const x of v) {
        const parsed = item(x);
        if (parsed === INVALID) return INVALID;
        out.push(parsed);
      }
      return out;
    },
  /** An object with these fields (others are dropped). */
  object:
    <S extends Shape>(shape: S): Schema<ObjectOf<S>> =>
    (v) => {
      if (!isRecord(v)) return INVALID;
      const out: Record<string, unknown> = {};
      for (const [key, schema] of Object.entries(shape)) {
        const parsed = schema(v[key]);
        if (parsed === INVALID) return INVALID;
        if (parsed !== undefined) out[key] = parsed;
      }
      return out as ObjectOf<S>;
    },
};

/** The value if it fits the schema, else undefined. */
export function parse<T>(schema: Schema<T>, value: unknown): T | undefined {
  const parsed = schema(value);
  return parsed === INVALID ? undefined : parsed;
}
