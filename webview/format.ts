// Number formatting for the panel: few digits, units on every figure (σ, ×, %), no exponent for ordinary
// magnitudes. Pure functions, unit-tested in plain Node.

/** A plain number with 3 significant digits; exponent only below 1e-3 or from 1e5; "–" for null. */
export function num(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (x === 0) return "0";
  const a = Math.abs(x);
  const s = a >= 1e5 || a < 1e-3 ? x.toExponential(2).replace(/\.?0+e/, "e") : String(Number(x.toPrecision(3)));
  return s.replace(/^-/, "−");
}

/** Two decimals below 10, one below 100, then whole numbers (z scores and ratios read best this way). */
function fixed(a: number): string {
  if (a >= 1e5) return num(a);
  if (a >= 100) return count(a);
  return a.toFixed(a >= 10 ? 1 : 2);
}

/** A z score in standard deviations, signed: "−2.50σ". */
export function sigma(z: number | null | undefined, signed = true): string {
  if (z === null || z === undefined || Number.isNaN(z)) return "–";
  const s = fixed(Math.abs(z));
  return `${signed && z < 0 && s !== "0.00" ? "−" : ""}${s}σ`;
}

/** A ratio: "20.3×". */
export function ratio(r: number | null | undefined): string {
  if (r === null || r === undefined || Number.isNaN(r)) return "–";
  if (!Number.isFinite(r)) return "∞×";
  return `${fixed(r)}×`;
}

/** A share in percent with one decimal; tiny non-zero shares read "<0.1%", nearly-all ">99.9%". */
export function percent(f: number | null | undefined): string {
  if (f === null || f === undefined || Number.isNaN(f)) return "–";
  const p = f * 100;
  if (p > 0 && p < 0.05) return "<0.1%";
  if (p < 100 && p >= 99.95) return ">99.9%";
  return `${p.toFixed(1).replace(/\.0$/, "")}%`;
}

// One formatter for all counts: toLocaleString builds a new Intl.NumberFormat on every call.
const wholeNumber = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A whole count with thousands separators. */
export function count(n: number): string {
  return wholeNumber.format(Math.round(n));
}

/** "lo … hi" for a value range. */
export function range(lo: number | null | undefined, hi: number | null | undefined): string {
  if (lo === null || lo === undefined || hi === null || hi === undefined) return "–";
  return lo === hi ? num(lo) : `${num(lo)} … ${num(hi)}`;
}

/** Milliseconds as "850 ms", "3.2 s", "2 min 5 s". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Bytes as "3.5 KiB", "1.2 MiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** "1 layer", "35 layers". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** A list of channel numbers, shortened: "0, 1, 3 and 5 more". */
export function channelList(channels: readonly number[], max = 8): string {
  if (channels.length === 0) return "none";
  const shown = channels.slice(0, max).join(", ");
  return channels.length > max ? `${shown} and ${channels.length - max} more` : shown;
}

/** A tensor shape with symbolic dims kept by name: "1 × 3 × 240 × 320", "batch × 3 × H × W". */
export function shape(dims: readonly (number | string | null)[] | null): string {
  if (dims === null) return "unknown shape";
  if (dims.length === 0) return "scalar";
  return dims.map((d) => (d === null ? "?" : String(d))).join(" × ");
}
