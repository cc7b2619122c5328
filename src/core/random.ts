/**
 * Seeded 32-bit generator (mulberry32): the same seed gives the same stream on every machine, so reshuffles,
 * fuzz cases and test draws replay from their seed. Returns the next unsigned 32-bit integer.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Seeded uniform draws in [0, 1). */
export function seededUniform(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

/** Seeded standard normal draws (Box-Muller on uniforms in (0, 1], so the logarithm is finite). */
export function seededNormals(seed: number): () => number {
  const next = mulberry32(seed);
  const u = () => (next() + 1) / 4294967297;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}
