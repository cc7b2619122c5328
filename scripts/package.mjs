// Builds BN Lens and packages a platform-specific VSIX: `npm run package [-- --target <os>-<arch>] [--verify]`
// (default linux-x64) writes bn-lens-<version>-<target>.vsix. With --verify (linux-x64 only) it then
// installs the VSIX into the test harness's code-server (--install-extension into a temporary
// extensions folder) and runs part of the extension-host suite against the installed copy. The VSIX keeps onnxruntime-node's and
// sharp's native binaries for that target only: .vscodeignore lists linux-x64's, and for another target
// this script writes a copy of it with that target's lines into .cache/ and hands it to vsce.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const target = args[args.indexOf("--target") + 1] && args.includes("--target") ? args[args.indexOf("--target") + 1] : "linux-x64";
const [os, arch] = target.split("-");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const out = `${pkg.name}-${pkg.version}-${target}.vsix`;

function fail(message) {
  process.stderr.write(`package: ${message}\n`);
  process.exit(1); // the "exit" handler removes borrowed binaries
}

// onnxruntime-node 1.30 ships binaries for these; sharp has a package per platform (@img/sharp-<os>-<arch>).
const ortBin = join("node_modules", "onnxruntime-node", "bin", "napi-v6", os ?? "", arch ?? "");
if (!os || !arch || !existsSync(join(ROOT, ortBin))) {
  fail(
    `onnxruntime-node has no binaries for "${target}" (${ortBin} is missing); targets it ships: linux-x64, linux-arm64, darwin-arm64, win32-x64, win32-arm64.`,
  );
}
const sharpPackages = [`@img/sharp-${os}-${arch}`, ...(os === "win32" ? [] : [`@img/sharp-libvips-${os}-${arch}`])];
// npm installs sharp's binaries for this machine only. Another target's come from the registry with
// `npm pack` (the versions sharp pins), are unpacked into node_modules for vsce, and removed afterwards.
const borrowed = [];
const sharpOptional = JSON.parse(readFileSync(join(ROOT, "node_modules", "sharp", "package.json"), "utf8")).optionalDependencies ?? {};
for (const p of sharpPackages.filter((p) => !existsSync(join(ROOT, "node_modules", p)))) {
  const version = sharpOptional[p];
  if (!version) fail(`sharp ${pkg.dependencies.sharp} has no ${p} for ${target}`);
  const cache = join(ROOT, ".cache", "sharp-binaries");
  mkdirSync(cache, { recursive: true });
  const packed = spawnSync("npm", ["pack", `${p}@${version}`, "--pack-destination", cache, "--silent"], { cwd: cache, encoding: "utf8" });
  if (packed.status !== 0) fail(`npm pack ${p}@${version} failed:\n${packed.stderr}`);
  const dest = join(ROOT, "node_modules", p);
  mkdirSync(dest, { recursive: true });
  borrowed.push(dest);
  const untar = spawnSync("tar", ["-xzf", join(cache, packed.stdout.trim().split("\n").pop()), "-C", dest, "--strip-components=1"]);
  if (untar.status !== 0) fail(`could not unpack ${p}@${version}`);
  process.stdout.write(`borrowed ${p}@${version} for this package (removed afterwards)\n`);
}
process.on("exit", () => {
  for (const d of borrowed) rmSync(d, { recursive: true, force: true });
});

// The platform lines of .vscodeignore, for this target.
const ignore = readFileSync(join(ROOT, ".vscodeignore"), "utf8");
const block = /(# Platform: [^\n]*\n)[\s\S]*?(# \(BN Lens platform end\))/;
if (!block.test(ignore)) fail(".vscodeignore lost its platform block (# Platform: ... # (BN Lens platform end))");
// vsce lets a "!" line win over every ignore line, so the kept files are named, not carved out.
// macOS: the binding loads @rpath/libonnxruntime.1.dylib; the fully versioned copy is the same 44 MB again.
const ortKeep = os === "darwin" ? ["onnxruntime_binding.node", "libonnxruntime.1.dylib"] : ["**"];
const lines = [...ortKeep.map((f) => `!${ortBin}/${f}`), ...sharpPackages.map((p) => `!node_modules/${p}/**`)].join("\n");
const ignoreFile = join(ROOT, ".cache", `vscodeignore-${target}`);
mkdirSync(join(ROOT, ".cache"), { recursive: true });
writeFileSync(ignoreFile, ignore.replace(block, `# Platform: ${target} (BN Lens platform ${target} begin)\n${lines}\n$2`));

function run(cmd, cmdArgs) {
  process.stdout.write(`$ ${cmd} ${cmdArgs.join(" ")}\n`);
  const r = spawnSync(cmd, cmdArgs, { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) fail(`${cmd} failed (exit ${r.status ?? r.signal})`);
}

run(process.execPath, ["scripts/build.mjs"]);
for (const f of ["dist/extension.js", "dist/worker.js", "dist/foldThread.js"]) if (!existsSync(join(ROOT, f))) fail(`${f} was not built`);
run(process.execPath, [
  join(ROOT, "node_modules", "@vscode", "vsce", "vsce"),
  "package",
  "--target",
  target,
  "--out",
  out,
  "--ignoreFile",
  ignoreFile,
  "--allow-missing-repository",
  "--skip-license",
  "--no-update-package-json",
]);
process.stdout.write(`\n${out}: ${(statSync(join(ROOT, out)).size / 2 ** 20).toFixed(1)} MB (list it with: unzip -l ${out})\n`);

if (args.includes("--verify")) {
  if (target !== "linux-x64") fail("--verify runs the VSIX here, so it needs --target linux-x64");
  const { ensureCodeServer } = await import("./codeServer.mjs");
  const cs = await ensureCodeServer();
  const tmp = mkdtempSync(join(tmpdir(), "bn-lens-vsix-"));
  try {
    const env = { ...process.env, XDG_CONFIG_HOME: join(tmp, "config") };
    const install = spawnSync(
      process.execPath,
      [
        cs.entry,
        "--install-extension",
        join(ROOT, out),
        "--extensions-dir",
        join(tmp, "extensions"),
        "--user-data-dir",
        join(tmp, "user-data"),
      ],
      { cwd: ROOT, env, encoding: "utf8" },
    );
    process.stdout.write(install.stdout + install.stderr);
    if (install.status !== 0 || !/successfully installed/.test(install.stdout)) fail("code-server --install-extension failed");
    const installed = readdirSync(join(tmp, "extensions")).find((d) => d.startsWith(`${pkg.publisher}.${pkg.name}-`));
    if (!installed) fail("the installed extension is not in the extensions folder");
    run(process.execPath, ["scripts/build.mjs", "--tests"]);
    run(process.execPath, [
      "scripts/runExtensionTests.mjs",
      "--extension",
      join(tmp, "extensions", installed),
      "--results-dir",
      "test-results/vsix",
      "--grep",
      "activation|on the face detector|photo folder|symbolic dims pre-filled",
    ]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
