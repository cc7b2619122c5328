import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import type { Report } from "../../src/core/report";
import type { SarifLog } from "../../src/core/share/sarif";
import { runCli } from "../helpers/cli";
import { ONNX_BN_TESTS, ROOT } from "../helpers/paths";

// The OASIS SARIF 2.1.0 schema (rtm.5, draft-04), vendored with its licence in test/fixtures/sarif/.
const SCHEMA = path.join(ROOT, "test", "fixtures", "sarif", "sarif-2.1.0-rtm.5.json");

const bnLens = (cwd: string, ...args: string[]) => runCli(args, { cwd });

function sarifValidator() {
  const ajv = new Ajv({ schemaId: "id", allErrors: true, meta: false });
  ajv.addMetaSchema(
    JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "ajv", "lib", "refs", "json-schema-draft-04.json"), "utf8")),
  );
  return ajv.compile(JSON.parse(fs.readFileSync(SCHEMA, "utf8")));
}

describe("bn-lens check, --fail-on and --sarif", function () {
  this.timeout(180_000);
  let tmp: string;
  let model: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-gate-"));
    const r = bnLens(tmp, "demo", "--out", tmp);
    assert.equal(r.code, 0, r.stderr);
    model = path.join(tmp, "bn-lens-demo.onnx");
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("the schema validator rejects what the schema forbids (so a pass means something)", () => {
    const validate = sarifValidator();
    assert.equal(validate({ version: "2.1.0", runs: [] }), true);
    assert.equal(validate({ version: "2.0.0", runs: [] }), false);
    assert.equal(validate({ version: "2.1.0", runs: [{ tool: { driver: {} } }] }), false, "driver.name is required");
    assert.equal(
      validate({ version: "2.1.0", runs: [{ tool: { driver: { name: "x" } }, results: [{ level: "fatal", message: { text: "m" } }] }] }),
      false,
    );
  });

  it("exit codes: 3 when findings reach --fail-on, 0 below it; check fails on errors by default", () => {
    // The demo plants one error (bn3's running variance, ratio 20 >= 10) and warnings (README "The example");
    // its statistics were calibrated on standard normal inputs, so random inputs are its data (--random-is-domain).
    const args = [model, "--samples", "256", "--seed", "1", "--random-is-domain"];
    assert.equal(bnLens(tmp, "inspect", ...args).code, 0, "inspect without --fail-on never fails on findings");
    const check = bnLens(tmp, "check", ...args);
    assert.equal(check.code, 3, check.stderr);
    assert.match(check.stdout, /Failing \(exit 3\): 1 finding at or above --fail-on error\./);
    const warn = bnLens(tmp, "inspect", ...args, "--fail-on", "warning");
    assert.equal(warn.code, 3);
    assert.match(warn.stdout, /Failing \(exit 3\): 6 findings at or above --fail-on warning\./);
    // ONNX's own BatchNorm2d test case: statistics fit, only the info that 2 samples are few values.
    const dir = path.join(ONNX_BN_TESTS, "test_BatchNorm2d_eval");
    const ok = bnLens(tmp, "check", path.join(dir, "model.onnx"), "--data", path.join(dir, "test_data_set_0"), "--fail-on", "warning");
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /No finding at or above warning\./);
    const bad = bnLens(tmp, "check", model, "--fail-on", "fatal");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --fail-on is error, warning or info, not "fatal"/);
  });

  it("--sarif writes SARIF 2.1.0 that validates against the schema, one result per finding", () => {
    const sarifFile = path.join(tmp, "demo.sarif");
    const jsonFile = path.join(tmp, "demo.json");
    const r = bnLens(
      tmp,
      "check",
      model,
      "--samples",
      "256",
      "--seed",
      "1",
      "--random-is-domain",
      "--sarif",
      sarifFile,
      "--json",
      jsonFile,
    );
    assert.equal(r.code, 3, r.stderr);
    const sarif = JSON.parse(fs.readFileSync(sarifFile, "utf8")) as SarifLog;
    const report = JSON.parse(fs.readFileSync(jsonFile, "utf8")) as Report;
    const validate = sarifValidator();
    assert.equal(validate(sarif), true, JSON.stringify(validate.errors, null, 1));

    const run = sarif.runs[0];
    const rules = run.tool.driver.rules;
    for (const rule of rules) assert.ok(rule.help.text.length > 40 && rule.fullDescription.text.length > 20, rule.id);
    const findings = [...report.warnings, ...report.layers.flatMap((l) => l.warnings)];
    assert.equal(run.results.length, findings.length);
    // The demo's planted problems (README "The example"): 1 error, 5 warnings and the expected-flat info on bn2.
    assert.equal(run.results.length, 7);
    run.results.forEach((res, i) => {
      assert.equal(res.ruleId, findings[i].rule);
      assert.equal(rules[res.ruleIndex].id, res.ruleId);
      assert.equal(res.level, findings[i].severity === "info" ? "note" : findings[i].severity);
      assert.ok(res.message.text.includes(findings[i].message));
      // The model inside the working directory: a path relative to the checkout, as code scanning wants.
      assert.deepEqual(res.locations[0].physicalLocation.artifactLocation, { uri: "bn-lens-demo.onnx", uriBaseId: "%SRCROOT%", index: 0 });
      assert.deepEqual(res.locations[0].physicalLocation.region, { startLine: 1 }, "GitHub code scanning needs region.startLine");
      assert.equal(res.locations[0].logicalLocations?.[0].name, findings[i].layer);
    });
    const err = run.results.filter((x) => x.level === "error");
    assert.deepEqual(
      err.map((x) => [x.ruleId, x.properties.layer, x.properties.channel]),
      [["variance-ratio", "bn3", 5]],
    );
    assert.equal(run.artifacts[0].hashes["sha-256"], report.model.sha256);

    // Outside the working directory the location is an absolute file URI, still valid SARIF.
    const elsewhere = path.join(tmp, "elsewhere.sarif");
    const r2 = bnLens(ROOT, "inspect", model, "--samples", "16", "--sarif", elsewhere);
    assert.equal(r2.code, 0, r2.stderr);
    const s2 = JSON.parse(fs.readFileSync(elsewhere, "utf8")) as SarifLog;
    assert.equal(validate(s2), true, JSON.stringify(validate.errors, null, 1));
    assert.match(s2.runs[0].artifacts[0].location.uri, /^file:\/\/\/.*bn-lens-demo\.onnx$/);
  });
});
