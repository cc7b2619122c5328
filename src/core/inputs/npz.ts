import { unzipSync } from "fflate";
import { UserError } from "../errors";
import type { HostTensor } from "../tensor";
import { parseNpy } from "./npy";

/** True when the bytes start like a ZIP archive (an .npz file). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5) && (bytes[3] === 4 || bytes[3] === 6);
}

function arrayName(entry: string): string {
  return entry.endsWith(".npy") ? entry.slice(0, -4) : entry;
}

function unzip(bytes: Uint8Array, what: string, keep: (name: string) => boolean): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes, { filter: (f) => keep(arrayName(f.name)) });
  } catch (e) {
    throw new UserError(
      "data",
      `${what} is not a readable .npz archive (${String((e as Error).message ?? e)}); it is truncated or damaged, save it again with numpy.savez.`,
      String(e),
    );
  }
}

/** Names of the arrays in an .npz archive (entry names without ".npy"), in archive order, without decoding them. */
export function npzArrayNames(bytes: Uint8Array, what = "The .npz file"): string[] {
  const names: string[] = [];
  unzip(bytes, what, (name) => {
    names.push(name);
    return false;
  });
  return names;
}

/**
 * Decodes the arrays of an .npz archive (stored or deflated entries) into name -> tensor;
 * `only` limits decoding to the arrays the caller needs.
 */
export function parseNpz(bytes: Uint8Array, what = "The .npz file", only?: (name: string) => boolean): Map<string, HostTensor> {
  const entries = unzip(bytes, what, (name) => (only ? only(name) : true));
  const out = new Map<string, HostTensor>();
  for (const [entry, data] of Object.entries(entries)) {
    const name = arrayName(entry);
    out.set(name, parseNpy(data, `Array "${name}" in ${what}`));
  }
  return out;
}
