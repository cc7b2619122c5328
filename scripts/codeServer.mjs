// code-server (VS Code 1.100.3 served to a browser) for the extension-host and end-to-end tests.
//   node scripts/codeServer.mjs [install]   install into .cache/code-server (instant when already there)
//   node scripts/codeServer.mjs path        print the install folder
// The npm package's own postinstall downloads things and fails offline, so this repeats the checked
// sequence of ../shared/ENVIRONMENT.md by hand. A marker file written last makes a second run a no-op;
// it records Node's module ABI because the native modules rebuilt here only load under that ABI.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, lstatSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

export const CODE_SERVER_VERSION = "4.100.3";
export const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
export const CACHE_DIR = join(ROOT, ".cache", "code-server");
const INSTALL_DIR = join(CACHE_DIR, CODE_SERVER_VERSION);
const MARKER = join(INSTALL_DIR, ".bn-lens-installed.json");
const LOCK = join(CACHE_DIR, `${CODE_SERVER_VERSION}.lock`);
const NATIVE_MODULES = ["node-pty", "@vscode/spdlog", "native-watchdog", "@parcel/watcher", "kerberos"];
const RIPGREP = "/usr/bin/rg";

const wanted = () => ({ version: CODE_SERVER_VERSION, modules: process.versions.modules, platform: process.platform, arch: process.arch });

/** The installed code-server's folders, or undefined when the cache holds no complete install for this Node. */
export function findCodeServer() {
  try {
    const marker = JSON.parse(readFileSync(MARKER, "utf8"));
    const want = wanted();
    if (Object.keys(want).some((k) => marker[k] !== want[k])) return undefined;
  } catch {
    return undefined;
  }
  return layout(INSTALL_DIR);
}

function layout(dir) {
  const pkg = join(dir, "node_modules", "code-server");
  return { dir, pkg, entry: join(pkg, "out", "node", "entry.js"), vscode: join(pkg, "lib", "vscode") };
}

/** Installs code-server into .cache/code-server unless a complete install is there; returns its folders. */
export async function ensureCodeServer({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const found = findCodeServer();
  if (found) return found;
  await withLock(log, async () => {
    if (findCodeServer()) return; // another process finished it while we waited
    await install(log);
  });
  const installed = findCodeServer();
  if (!installed) throw new Error("code-server install finished without its marker file");
  return installed;
}

async function withLock(log, fn) {
  mkdirSync(CACHE_DIR, { recursive: true });
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(LOCK, "pid"), "utf8"));
      } catch {
        /* being written */
      }
      if (Number.isInteger(owner) && !alive(owner)) {
        rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK} (held by pid ${owner})`);
      log(`code-server: waiting for another install (pid ${owner})`);
      await sleep(2000);
    }
  }
  try {
    await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

async function install(log) {
  if (!existsSync(RIPGREP)) throw new Error(`${RIPGREP} is missing: apt-get install -y ripgrep (VS Code's search and Quick Open use it)`);
  const started = Date.now();
  log(`code-server ${CODE_SERVER_VERSION}: installing into ${INSTALL_DIR} (about a minute; log in ${join(CACHE_DIR, "install.log")})`);
  rmSync(INSTALL_DIR, { recursive: true, force: true });
  mkdirSync(INSTALL_DIR, { recursive: true });
  // Its own package.json makes this folder npm's prefix, so nothing walks up into the project.
  writeFileSync(join(INSTALL_DIR, "package.json"), JSON.stringify({ name: "bn-lens-code-server-cache", private: true }, null, 2));
  const logFile = join(CACHE_DIR, "install.log");
  writeFileSync(logFile, "");
  const { dir, vscode } = layout(INSTALL_DIR);
  const npm = (cwd, args, extraEnv = {}) => run(log, logFile, cwd, "npm", args, extraEnv);
  const quiet = ["--no-audit", "--no-fund", "--loglevel=warn"];
  npm(dir, ["install", "--ignore-scripts", ...quiet, `code-server@${CODE_SERVER_VERSION}`]);
  npm(dir, ["rebuild", "argon2"]);
  npm(vscode, ["install", "--omit=dev", "--ignore-scripts", ...quiet]);
  npm(vscode, ["rebuild", ...NATIVE_MODULES], { npm_config_yes: "true" });
  const rgDir = join(vscode, "node_modules", "@vscode", "ripgrep", "bin");
  mkdirSync(rgDir, { recursive: true });
  replaceLink(RIPGREP, join(rgDir, "rg"));
  replaceLink("node_modules", join(vscode, "node_modules.asar"));
  npm(join(vscode, "extensions"), ["install", "--omit=dev", "--ignore-scripts", ...quiet]);
  // A rebuild that npm skipped (e.g. install scripts not allowed) shows up here, not as a broken terminal later.
  for (const [cwd, mod] of [[dir, "argon2"], ...NATIVE_MODULES.map((m) => [vscode, m])]) {
    const load = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(mod)})`], { cwd, encoding: "utf8", timeout: 30_000 });
    if (load.status !== 0) throw new Error(`${mod} does not load after its rebuild:\n${load.stderr.slice(-2000)}`);
  }
  const configHome = join(CACHE_DIR, "version-check-config"); // so --version writes no config into $HOME
  const check = spawnSync(process.execPath, [layout(INSTALL_DIR).entry, "--version"], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, XDG_CONFIG_HOME: configHome },
  });
  rmSync(configHome, { recursive: true, force: true });
  if (check.status !== 0 || !check.stdout.includes(CODE_SERVER_VERSION)) {
    throw new Error(`code-server --version failed after install:\n${check.stdout}${check.stderr}`);
  }
  const version = /^\d+\.\d+\.\d+ .*$/m.exec(check.stdout)?.[0] ?? check.stdout.trim();
  writeFileSync(MARKER, JSON.stringify({ ...wanted(), installedAt: new Date().toISOString(), codeServer: version }, null, 2));
  log(`code-server ${CODE_SERVER_VERSION}: installed in ${((Date.now() - started) / 1000).toFixed(0)} s (${version})`);
}

function replaceLink(target, path) {
  try {
    lstatSync(path);
    rmSync(path, { recursive: true, force: true });
  } catch {
    /* absent */
  }
  symlinkSync(target, path);
}

function run(log, logFile, cwd, cmd, args, extraEnv) {
  const started = Date.now();
  const label = `${cmd} ${args.filter((a) => !a.startsWith("--no-") && !a.startsWith("--loglevel")).join(" ")}`;
  // `npm run` exports the project's package and lifecycle variables; a nested npm must not see them.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^npm_(package|lifecycle)_|^npm_config_(local_prefix|call|onnxruntime_node_install)$|^INIT_CWD$/i.test(k),
    ),
  );
  const res = spawnSync(cmd, args, { cwd, env: { ...env, ...extraEnv }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const out = `$ (cd ${cwd} && ${cmd} ${args.join(" ")})\n${res.stdout ?? ""}${res.stderr ?? ""}\n`;
  writeFileSync(logFile, out, { flag: "a" });
  if (res.status !== 0) {
    throw new Error(`code-server install step failed (${label}, exit ${res.status ?? res.signal}):\n${out.slice(-4000)}`);
  }
  log(`  ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** A free TCP port on the loopback interface. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts code-server in its own process group on a free loopback port, with its config, user data and
 * extensions in `stateDir`, and waits until it answers. `env` is added to the server's environment
 * (the remote extension host inherits it). Resolves to { origin, port, pid, stop(), exitCode() }.
 */
export async function startCodeServer({ install, stateDir, folder, env = {}, logFile, readyTimeoutMs = 60_000, settings = {} }) {
  const userDataDir = join(stateDir, "user-data");
  const extensionsDir = join(stateDir, "extensions");
  const configHome = join(stateDir, "config");
  const tmp = join(stateDir, "tmp"); // VS Code's IPC sockets go to the temp folder and outlive a killed server
  for (const d of [userDataDir, extensionsDir, configHome, tmp]) mkdirSync(d, { recursive: true });
  mkdirSync(join(userDataDir, "User"), { recursive: true });
  writeFileSync(
    join(userDataDir, "User", "settings.json"),
    JSON.stringify(
      {
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "workbench.enableExperiments": false,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "extensions.autoCheckUpdates": false,
        "extensions.autoUpdate": false,
        "extensions.ignoreRecommendations": true,
        "security.workspace.trust.enabled": false,
        "remote.autoForwardPorts": false,
        "git.enabled": false,
        ...settings,
      },
      null,
      2,
    ),
  );
  let lastError;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const args = [
      install.entry,
      "--auth",
      "none",
      "--bind-addr",
      `127.0.0.1:${port}`,
      "--user-data-dir",
      userDataDir,
      "--extensions-dir",
      extensionsDir,
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--disable-getting-started-override",
      "--disable-proxy",
      "--ignore-last-opened",
    ];
    if (folder) args.push(folder);
    const out = createWriteStream(logFile, { flags: "a" });
    const child = spawn(process.execPath, args, {
      cwd: stateDir,
      detached: true, // its own process group, so stop() reaches the extension host and watchers too
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, XDG_CONFIG_HOME: configHome, XDG_DATA_HOME: join(stateDir, "data"), TMPDIR: tmp, ...env },
    });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    let exitCode = null;
    const exited = new Promise((resolve) =>
      child.on("exit", (code, signal) => {
        exitCode = code ?? signal;
        resolve(exitCode);
      }),
    );
    const server = {
      origin: `http://127.0.0.1:${port}`,
      port,
      pid: child.pid,
      userDataDir,
      extensionsDir,
      exitCode: () => exitCode,
      exited,
      stop: async () => {
        if (exitCode === null) await killGroup(child.pid, exited);
        out.end();
      },
    };
    try {
      await waitForHttp(`${server.origin}/healthz`, readyTimeoutMs, () => exitCode);
      return server;
    } catch (err) {
      lastError = err;
      await server.stop();
      const log = readFileSync(logFile, "utf8");
      if (!/EADDRINUSE/.test(log)) break; // only a port race is worth another try
    }
  }
  throw new Error(`code-server did not start: ${lastError?.message}\n--- ${logFile} (tail)\n${tail(logFile, 40)}`);
}

/** SIGTERM to the process group, SIGKILL after a grace period. */
export async function killGroup(pid, exited, graceMs = 5000) {
  const signal = (sig) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* gone */
    }
  };
  signal("SIGTERM");
  await Promise.race([exited, sleep(graceMs)]);
  // The group can outlive its leader (the extension host is a grandchild): give the rest a moment, then
  // finish off whatever is left.
  await sleep(300);
  signal("SIGKILL");
}

async function waitForHttp(url, timeoutMs, exitCode) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitCode() !== null) throw new Error(`code-server exited (${exitCode()}) before answering ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(250);
  }
  throw new Error(`no answer from ${url} within ${timeoutMs / 1000} s`);
}

/** The last `lines` lines of a text file ("" when missing). */
export function tail(file, lines) {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cmd = process.argv[2] ?? "install";
  try {
    if (cmd === "install") {
      const started = Date.now();
      const cs = await ensureCodeServer();
      process.stderr.write(`code-server ${CODE_SERVER_VERSION} ready at ${cs.dir} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    } else if (cmd === "path") {
      const cs = findCodeServer();
      if (!cs) {
        process.stderr.write("code-server is not installed: node scripts/codeServer.mjs install\n");
        process.exit(1);
      }
      process.stdout.write(`${cs.dir}\n`);
    } else {
      process.stderr.write("usage: node scripts/codeServer.mjs [install|path]\n");
      process.exit(2);
    }
  } catch (err) {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  }
}
