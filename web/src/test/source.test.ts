// Rules checked over the source tree: no raw HTML injection anywhere, locale files
// with identical keys, and no user-facing text left in JSX instead of a locale file.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import ja from "../i18n/ja.json";
import en from "../i18n/en.json";

const SRC = join(__dirname, "..");

function files(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, exts));
    else if (exts.some((e) => name.endsWith(e))) out.push(p);
  }
  return out;
}

const sources = files(SRC, [".ts", ".tsx"]).filter((f) => !f.endsWith(".d.ts"));

describe("source rules", () => {
  it("never uses dangerouslySetInnerHTML", () => {
    // Built from pieces so this file does not match itself.
    const banned = ["dangerously", "SetInnerHTML"].join("");
    const offenders = sources.filter((f) => !f.endsWith("source.test.ts") && readFileSync(f, "utf8").includes(banned));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });

  it("never assigns innerHTML or outerHTML, nor calls insertAdjacentHTML or document.write", () => {
    const pattern = /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write/;
    const offenders = sources.filter((f) => !f.endsWith("source.test.ts") && pattern.test(readFileSync(f, "utf8")));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });

  it("does not add rehype-raw", () => {
    const pkg = readFileSync(join(SRC, "..", "package.json"), "utf8");
    expect(pkg).not.toContain("rehype-raw");
    const offenders = sources.filter((f) => !f.endsWith("source.test.ts") && readFileSync(f, "utf8").includes("rehype-raw"));
    expect(offenders).toEqual([]);
  });
});

describe("locale files", () => {
  it("have the same keys in ja and en", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(ja).sort());
  });

  it("have no empty messages and the same placeholders in both languages", () => {
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, value] of Object.entries(ja)) {
      const other = (en as Record<string, string>)[key] ?? "";
      expect(value.trim(), key).not.toBe("");
      expect(other.trim(), key).not.toBe("");
      expect(placeholders(other), key).toEqual(placeholders(value));
    }
  });

  it("has every key the code uses", () => {
    const used = new Set<string>();
    const keyPattern = /(["'`])((?:common|chat|nav|home|auth|settings|admin|kb|unanswered|users|keys|audit|analytics|chart|error|source|markdown|notFound|role|widget|consent|files|browser|billing|assistants)\.[A-Za-z0-9_.]+)\1/g;
    for (const f of sources) {
      if (f.endsWith(".test.ts") || f.endsWith(".test.tsx")) continue;
      for (const m of readFileSync(f, "utf8").matchAll(keyPattern)) used.add(m[2] as string);
    }
    const missing = [...used].filter((k) => !(k in ja));
    expect(missing).toEqual([]);
  });
});

// Text a person reads: any Japanese, or a lowercase word (brand names, format
// names like "CSV (UTF-8)" and symbols are fine as literals).
const READABLE = /[\u3040-\u30ff\u3400-\u9fff]|[a-z]{2,}/;
const TEXT_ATTRIBUTES = new Set(["aria-label", "title", "placeholder", "alt", "aria-valuetext"]);

function untranslated(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isJsxText(node)) {
      const s = node.getText().trim();
      if (s && READABLE.test(s)) found.push(s);
    } else if (ts.isJsxAttribute(node) && node.initializer && ts.isStringLiteral(node.initializer)) {
      const name = node.name.getText();
      if (TEXT_ATTRIBUTES.has(name) && READABLE.test(node.initializer.text)) found.push(`${name}="${node.initializer.text}"`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found.map((s) => `${relative(SRC, file)}: ${s}`);
}

describe("JSX text", () => {
  it("goes through the locale files", () => {
    const tsx = sources.filter((f) => f.endsWith(".tsx") && !f.includes(".test."));
    expect(tsx.flatMap(untranslated)).toEqual([]);
  });
});
