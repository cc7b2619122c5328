/** An AssemblyScript file compiled to WebAssembly by scripts/build.mjs and bundled as its bytes. */
declare module "bn-lens-wasm:*" {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
