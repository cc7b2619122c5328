/**
 * Just enough of the protobuf wire format to copy fields of a message byte for byte.
 * BN Lens edits models at this level so that initializers (often most of the bytes) are copied as one
 * block instead of being decoded and re-encoded, and fields of newer ONNX versions survive untouched.
 */

/** One field occurrence in a serialized message: its number, wire type and byte range (tag included). */
export interface WireField {
  field: number;
  wireType: number;
  /** Start of the tag. */
  start: number;
  /** Start of the payload (after the tag, and after the length for length-delimited fields). */
  payloadStart: number;
  end: number;
}

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new RangeError("truncated varint");
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, pos];
    mul *= 128;
  }
  throw new RangeError("varint too long");
}

/** Lists the top-level fields of a serialized message, in order. Throws RangeError on malformed input. */
export function scanFields(buf: Uint8Array, from = 0, to = buf.length): WireField[] {
  const fields: WireField[] = [];
  let pos = from;
  while (pos < to) {
    const start = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    let payloadStart = afterTag;
    let end: number;
    switch (wireType) {
      case 0:
        end = readVarint(buf, afterTag)[1];
        break;
      case 1:
        end = afterTag + 8;
        break;
      case 2: {
        const [len, afterLen] = readVarint(buf, afterTag);
        payloadStart = afterLen;
        end = afterLen + len;
        break;
      }
      case 5:
        end = afterTag + 4;
        break;
      default:
        throw new RangeError(`unsupported wire type ${wireType}`);
    }
    if (end > to || field === 0) throw new RangeError("field runs past the end of the message");
    fields.push({ field, wireType, start, payloadStart, end });
    pos = end;
  }
  return fields;
}

/** Encodes a varint. */
export function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** Wraps a serialized message as a length-delimited field. */
export function lengthDelimited(field: number, payload: Uint8Array): Uint8Array[] {
  return [varint(field * 8 + 2), varint(payload.length), payload];
}

/** Total length of chunks. */
export function totalLength(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** Joins chunks into one buffer. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(totalLength(chunks));
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** A string as a length-delimited field (UTF-8). */
export function stringField(field: number, s: string): Uint8Array[] {
  return lengthDelimited(field, new TextEncoder().encode(s));
}

/** A StringStringEntryProto (metadata_props, external_data) as a length-delimited field. */
export function stringEntryField(field: number, key: string, value: string): Uint8Array[] {
  return lengthDelimited(field, concat([...stringField(StringEntryField.key, key), ...stringField(StringEntryField.value, value)]));
}

// Field numbers from onnx.proto, for the messages BN Lens edits at the wire level; one table so that the
// rewrites agree on them.

/** ModelProto field numbers. */
export const ModelField = { graph: 7, opsetImport: 8, metadataProps: 14 } as const;
/** GraphProto field numbers. */
export const GraphField = { node: 1, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
/** NodeProto field numbers. */
export const NodeField = { input: 1, output: 2, attribute: 5 } as const;
/** AttributeProto field numbers. */
export const AttributeField = { name: 1, f: 2, t: 5, floats: 7 } as const;
/** TensorProto field numbers. */
export const TensorField = { dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13, dataLocation: 14 } as const;
/** TensorProto fields that hold or locate its values (float_data … data_location): replaced together. */
export const TENSOR_DATA_FIELDS: ReadonlySet<number> = new Set([4, 5, 6, 7, 9, 10, 11, 13, 14]);
/** StringStringEntryProto field numbers. */
export const StringEntryField = { key: 1, value: 2 } as const;

/** A model's top-level fields and its graph's fields; `graph` is undefined when the model has none. */
export interface ModelFields {
  top: WireField[];
  graph: WireField | undefined;
  graphFields: WireField[];
}

/** Scans a serialized ModelProto down to its graph's fields. Throws RangeError on malformed input. */
export function scanModel(bytes: Uint8Array): ModelFields {
  const top = scanFields(bytes);
  const graph = top.find((f) => f.field === ModelField.graph && f.wireType === 2);
  return { top, graph, graphFields: graph ? scanFields(bytes, graph.payloadStart, graph.end) : [] };
}
