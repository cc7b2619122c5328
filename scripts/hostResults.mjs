// Reads the JSON lines that test/extension/mochaRunner.ts appends to $BN_LENS_TEST_RESULTS inside the
// extension host, prints each test as it finishes, and prints the failures and the closing count.
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from "node:fs";

export class HostResults {
  constructor(file, log) {
    this.file = file;
    this.log = log;
    writeFileSync(file, "");
    this.offset = 0;
    this.partial = "";
    this.passed = 0;
    this.failed = 0;
    this.pending = 0;
    this.failures = [];
    this.running = undefined; // full title of the test that began and has not finished
    this.started = false;
    this.ended = false;
    this.error = undefined; // the index failed before or outside mocha
  }

  /** Handles every complete line appended since the last call. */
  poll() {
    for (const line of this.newLines()) {
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        this.log(`  ? unreadable results line: ${line.slice(0, 200)}`);
        continue;
      }
      this.handle(event);
    }
  }

  handle(event) {
    switch (event.type) {
      case "start":
        this.started = true;
        this.log(
          `extension host: VS Code ${event.vscode}, Node ${event.node}, pid ${event.pid}; ${event.total} test(s) from ${event.files.join(", ") || "no files"}`,
        );
        break;
      case "begin":
        this.running = event.fullTitle;
        break;
      case "pass":
        this.passed++;
        this.running = undefined;
        this.log(`  ✓ ${event.fullTitle} (${event.durationMs ?? 0} ms)`);
        break;
      case "pending":
        this.pending++;
        this.log(`  - ${event.fullTitle} (skipped)`);
        break;
      case "fail":
        this.failed++;
        this.running = undefined;
        this.failures.push(event);
        this.log(`  ✗ ${event.fullTitle}\n${indent(event.message, "      ")}`);
        break;
      case "error":
        this.error = event;
        break;
      case "end":
        this.ended = true;
        break;
    }
  }

  /** Records a failure of the run itself (timeout, crash, index error); counts as a failed test. */
  problem(message) {
    this.failed++;
    this.failures.push({ fullTitle: this.running ?? "(runner)", message });
    this.log(`  ✗ ${message}`);
  }

  get ok() {
    return this.failed === 0 && this.passed > 0;
  }

  /** Failures with their messages and stacks, then the closing count line (`<label>: N passed, N failed, N skipped`). */
  printSummary(label) {
    if (this.failed === 0 && this.passed === 0) this.failures.push({ fullTitle: "(runner)", message: "no test passed: nothing ran" });
    if (this.failures.length) {
      this.log("\nFailures:");
      this.failures.forEach((f, i) => {
        this.log(`  ${i + 1}) ${f.fullTitle}`);
        this.log(indent(f.stack && !f.stack.includes(f.message) ? `${f.message}\n${f.stack}` : (f.stack ?? f.message), "     "));
      });
    }
    this.log(`${label}: ${this.passed} passed, ${this.failed} failed, ${this.pending} skipped`);
  }

  newLines() {
    const fd = openSync(this.file, "r");
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      readSync(fd, buf, 0, buf.length, this.offset);
      this.offset = size;
      const lines = (this.partial + buf.toString("utf8")).split("\n");
      this.partial = lines.pop();
      return lines.filter(Boolean);
    } finally {
      closeSync(fd);
    }
  }
}

export function indent(text, prefix) {
  return String(text)
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");
}
