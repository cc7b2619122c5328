// The esbuild plugin that compiles BN Lens's AssemblyScript kernels (src/core/stats/kernel/) to WebAssembly:
// scripts/build.mjs and every other bundle of core code use it.
import asc from "assemblyscript/asc";
import { statSync } from "node:fs";
import { relative, resolve } from "node:path";

const root = new URL("..", import.meta.url).pathname;
// `import bytes from "bn-lens-wasm:./kernel/x.ts"` bundles the AssemblyScript file compiled to WebAssembly, as a
// Uint8Array: the binary is built with the code that loads it and is never a file of its own to find at run time.
const compiled = new Map();
export const wasmKernels = {
  name: "wasm-kernels",
  setup(build) {
    build.onResolve({ filter: /^bn-lens-wasm:/ }, (a) => ({
      path: resolve(a.resolveDir, a.path.slice("bn-lens-wasm:".length)),
      namespace: "wasm-kernel",
    }));
    build.onLoad({ filter: /.*/, namespace: "wasm-kernel" }, async (a) => {
      // Compiled once per version of the file, however many bundles include it.
      const key = `${a.path}@${statSync(a.path).mtimeMs}`;
      if (!compiled.has(key)) compiled.set(key, compileKernel(a.path));
      return { contents: await compiled.get(key), loader: "binary", watchFiles: [a.path] };
    });
  },
};
async function compileKernel(file) {
  let wasm;
  const errors = [];
  const { error } = await asc.main(
    [relative(root, file), "-O3", "--enable", "simd", "--runtime", "stub", "--noAssert", "--importMemory", "--outFile", "kernel.wasm"],
    {
      baseDir: root,
      stdout: { write: () => true },
      stderr: { write: (text) => (errors.push(String(text)), true) },
      writeFile: (name, contents) => {
        if (name.endsWith(".wasm")) wasm = contents;
      },
    },
  );
  if (error || !wasm) throw new Error(`AssemblyScript failed on ${relative(root, file)}: ${error?.message ?? ""}\n${errors.join("")}`);
  return wasm;
}
