/** BN Lens's output channel ("BN Lens" in the Output panel), with the last lines kept for tests. */
import type * as vscode from "vscode";

/** Keeps a bounded copy of the log for tests, and writes the LogOutputChannel. */
export class Log {
  readonly lines: string[] = [];
  constructor(readonly channel: vscode.LogOutputChannel) {}
  private keep(level: string, line: string): void {
    this.lines.push(`${level} ${line}`);
    if (this.lines.length > 1000) this.lines.splice(0, this.lines.length - 1000);
  }
  info(line: string): void {
    this.keep("info", line);
    this.channel.info(line);
  }
  warn(line: string): void {
    this.keep("warn", line);
    this.channel.warn(line);
  }
  error(line: string): void {
    this.keep("error", line);
    this.channel.error(line);
  }
}
