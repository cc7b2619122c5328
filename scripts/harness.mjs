// Shared by the code-server test runners: a private state folder, headless Chromium, a workbench URL,
// and cleanup that leaves no process behind. Every process a run starts gets BN_LENS_HARNESS_ID in its
// environment; cleanup kills the process groups it knows and then any straggler carrying that id.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ROOT } from "./codeServer.mjs";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const FACE_DETECTOR = resolve(ROOT, "..", "shared", "models", "face-detector-rfb-320", "version-RFB-320.onnx");
export const FACE_IMAGES = resolve(ROOT, "..", "shared", "data", "face-images");

/** Parses `--name value` and `--flag` arguments against a table of defaults (strings, numbers, booleans). */
export function parseArgs(argv, defaults, usage) {
  const opts = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, "");
    if (argv[i] === "--help" || argv[i] === "-h") {
      process.stdout.write(usage);
      process.exit(0);
    }
    if (!argv[i].startsWith("--") || !(key in defaults)) fail(`unknown argument ${argv[i]}\n${usage}`, 2);
    if (typeof defaults[key] === "boolean") {
      opts[key] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) fail(`--${key} needs a value\n${usage}`, 2);
    opts[key] = typeof defaults[key] === "number" ? Number(value) : value;
    if (typeof defaults[key] === "number" && !Number.isFinite(opts[key])) fail(`--${key} needs a number`, 2);
  }
  return opts;
}

export function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** One test run: temp state, results folder, cleanup on every way out (normal, error, signal, timeout). */
export class Run {
  constructor(name, { resultsDir, keep = false } = {}) {
    this.name = name;
    this.id = `${name}-${process.pid}-${randomBytes(4).toString("hex")}`;
    this.stateDir = mkdtempSync(join(tmpdir(), `bn-lens-${name}-`));
    // Everything else this process and its children put in the temp folder (Playwright's browser profile
    // and artifacts) then lives inside the state folder, which cleanup (or the reaper) deletes.
    process.env.TMPDIR = join(this.stateDir, "tmp");
    mkdirSync(process.env.TMPDIR);
    this.resultsDir = resolve(ROOT, resultsDir ?? join("test-results", name));
    rmSync(this.resultsDir, { recursive: true, force: true });
    mkdirSync(this.resultsDir, { recursive: true });
    this.keep = keep;
    this.cleanups = [];
    this.groups = new Set();
    this.cleaning = undefined;
    this.signalExitCode = undefined;
    const onSignal = (signal, code) => {
      if (this.signalExitCode !== undefined) return;
      this.signalExitCode = code;
      process.stderr.write(`\n${name}: ${signal}, stopping\n`);
      this.cleanup().finally(() => process.exit(code));
    };
    this.handlers = {
      SIGINT: () => onSignal("SIGINT", 130),
      SIGTERM: () => onSignal("SIGTERM", 143),
      SIGHUP: () => onSignal("SIGHUP", 129),
    };
    for (const [sig, fn] of Object.entries(this.handlers)) process.on(sig, fn);
    // When something calls process.exit without cleanup: synchronous kills only.
    this.onExit = () => this.killEverything();
    process.on("exit", this.onExit);
    // Last resort, for deaths that skip "exit" (SIGKILL, a throw inside an uncaughtException handler):
    // a small detached process that sweeps the run's processes once this one is gone.
    this.reaper = spawn(process.execPath, ["-e", REAPER, String(process.pid), `BN_LENS_HARNESS_ID=${this.id}`, keep ? "" : this.stateDir], {
      detached: true,
      stdio: "ignore",
    });
    this.reaper.unref();
  }

  /** Environment for every child process: carries the run's id so a sweep can find stragglers. */
  env(extra = {}) {
    return { BN_LENS_HARNESS_ID: this.id, ...extra };
  }

  /** Registers an async cleanup step (run in reverse order) and, for a process group leader, its pid. */
  onCleanup(fn, groupPid) {
    this.cleanups.push(fn);
    if (groupPid) this.groups.add(groupPid);
  }

  /** Stops everything the run started; every call returns the same promise. */
  cleanup() {
    this.cleaning ??= this.doCleanup();
    return this.cleaning;
  }

  /** Exits with `code`, or with the signal's code when a signal ended the run. */
  exit(code) {
    process.exit(this.signalExitCode ?? code);
  }

  async doCleanup() {
    for (const fn of this.cleanups.reverse()) {
      try {
        await withTimeout(fn(), 15_000, "cleanup step");
      } catch (err) {
        process.stderr.write(`cleanup: ${err.message}\n`);
      }
    }
    this.killEverything();
    if (!this.keep) rmSync(this.stateDir, { recursive: true, force: true, maxRetries: 3 });
    else process.stderr.write(`${this.name}: state kept in ${this.stateDir}\n`);
    for (const [sig, fn] of Object.entries(this.handlers)) process.off(sig, fn);
    process.off("exit", this.onExit);
  }

  killEverything() {
    for (const pid of this.groups) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    for (const pid of processesWithEnv("BN_LENS_HARNESS_ID", this.id)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    try {
      this.reaper.kill("SIGKILL");
    } catch {
      /* gone */
    }
  }
}

const REAPER = `
const fs = require("fs");
const [parent, needle, stateDir] = process.argv.slice(1);
setInterval(() => {
  try { process.kill(Number(parent), 0); return; } catch {}
  for (const e of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(e) || Number(e) === process.pid) continue;
    try { if (fs.readFileSync("/proc/" + e + "/environ", "latin1").split("\\0").includes(needle)) process.kill(Number(e), "SIGKILL"); } catch {}
  }
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  process.exit(0);
}, 500);
`;

/** Live pids (other than ours; zombies skipped) whose environment holds name=value. Linux /proc. */
export function processesWithEnv(name, value) {
  const needle = `${name}=${value}`;
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(needle)) continue;
      // "pid (comm) S ...": a zombie has exited already and only waits for its parent to reap it.
      if (/\) Z /.test(readFileSync(`/proc/${entry}/stat`, "latin1"))) continue;
      pids.push(Number(entry));
    } catch {
      /* exited or not ours to read */
    }
  }
  return pids;
}

export async function withTimeout(promise, ms, what) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${(ms / 1000).toFixed(0)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Headless Debian Chromium driven by playwright-core, closed (and swept) by the run's cleanup. */
export async function launchBrowser(run) {
  if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false, // Run handles signals and closes it
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-default-apps",
    ],
    // Its crash database and dconf cache would otherwise land in $HOME.
    env: {
      ...process.env,
      ...run.env(),
      XDG_CONFIG_HOME: join(run.stateDir, "chromium-config"),
      XDG_CACHE_HOME: join(run.stateDir, "chromium-cache"),
    },
  });
  run.onCleanup(() => browser.close().catch(() => {}));
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const consoleLog = join(run.resultsDir, "browser-console.log");
  writeFileSync(consoleLog, "");
  const note = (line) => writeFileSync(consoleLog, `${line}\n`, { flag: "a" });
  page.on("console", (msg) => note(`[${msg.type()}] ${msg.text()}`));
  page.on("pageerror", (err) => note(`[pageerror] ${err.stack ?? err.message}`));
  page.on("crash", () => note("[crash] the page crashed"));
  return { browser, page, consoleLog };
}

/**
 * The workbench URL for `folder` that loads the extension at `extensionPath` as under development
 * and, with `testsPath`, runs that compiled module's run() in the remote extension host.
 */
export function workbenchUrl(server, { folder, extensionPath, testsPath }) {
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [["extensionDevelopmentPath", remote(extensionPath)]];
  if (testsPath) payload.push(["extensionTestsPath", remote(testsPath)]);
  return `${server.origin}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** Checks that the extension to load has a manifest and its built entry point; fails with what to run. */
export function checkExtension(extensionPath) {
  const manifestPath = join(extensionPath, "package.json");
  if (!existsSync(manifestPath)) fail(`no extension at ${extensionPath} (package.json missing)`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  if (manifest.main && !existsSync(resolve(extensionPath, manifest.main)) && !existsSync(resolve(extensionPath, `${manifest.main}.js`))) {
    fail(
      `${manifest.name}: its entry point ${manifest.main} is missing. npm run build bundles it (from src/extension/extension.ts for BN Lens; a missing source is skipped silently).`,
    );
  }
  return manifest;
}

/** On failure: the server's VS Code logs (extension host, remote agent) into the results folder. */
export function saveVsCodeLogs(run, server) {
  const logs = join(server.userDataDir, "logs");
  if (existsSync(logs)) cpSync(logs, join(run.resultsDir, "vscode-logs"), { recursive: true });
}

export function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}
