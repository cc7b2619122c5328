// Builds .npy bytes by hand for tests: the header text as NumPy writes it, and element bytes through DataView,
// so tests never rely on the parser under test to make their inputs.

/** Element kinds a test can write, with their byte size and the DataView setter used. */
const WRITERS: Record<string, [number, (v: DataView, at: number, x: number | bigint, le: boolean) => void]> = {
  f2: [2, (v, at, x, le) => v.setUint16(at, Number(x), le)], // raw half bits
  f4: [4, (v, at, x, le) => v.setFloat32(at, Number(x), le)],
  f8: [8, (v, at, x, le) => v.setFloat64(at, Number(x), le)],
  i1: [1, (v, at, x) => v.setInt8(at, Number(x))],
  u1: [1, (v, at, x) => v.setUint8(at, Number(x))],
  b1: [1, (v, at, x) => v.setUint8(at, Number(x))],
  i2: [2, (v, at, x, le) => v.setInt16(at, Number(x), le)],
  u2: [2, (v, at, x, le) => v.setUint16(at, Number(x), le)],
  i4: [4, (v, at, x, le) => v.setInt32(at, Number(x), le)],
  u4: [4, (v, at, x, le) => v.setUint32(at, Number(x), le)],
  i8: [8, (v, at, x, le) => v.setBigInt64(at, BigInt(x), le)],
  u8: [8, (v, at, x, le) => v.setBigUint64(at, BigInt(x), le)],
};

/** Element bytes of `values` for a descr such as "<f4", ">i8" or "|b1", in the order given. */
export function elementBytes(descr: string, values: readonly (number | bigint)[]): Uint8Array {
  const [size, write] = WRITERS[descr.slice(1)];
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((x, i) => write(view, i * size, x, descr[0] !== ">"));
  return out;
}

/** The header dict NumPy writes, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }. */
export function headerText(descr: string, shape: readonly number[], fortran = false): string {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  return `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': (${dims}), }`;
}

/** A whole .npy file: magic, version, padded header (to a multiple of 64 bytes) and the payload. */
export function npyBytes(
  descr: string,
  shape: readonly number[],
  payload: Uint8Array,
  opts: { fortran?: boolean; version?: 1 | 2 | 3; header?: string } = {},
): Uint8Array {
  const version = opts.version ?? 1;
  const text = opts.header ?? headerText(descr, shape, opts.fortran);
  const pre = version === 1 ? 10 : 12;
  const encoded = new TextEncoder().encode(text);
  const total = Math.ceil((pre + encoded.length + 1) / 64) * 64;
  const header = new Uint8Array(total);
  header.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(header.buffer);
  if (version === 1) view.setUint16(8, total - pre, true);
  else view.setUint32(8, total - pre, true);
  header.set(encoded, pre);
  header.fill(0x20, pre + encoded.length, total - 1);
  header[total - 1] = 0x0a;
  const out = new Uint8Array(total + payload.length);
  out.set(header);
  out.set(payload, total);
  return out;
}
