import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { I18nProvider } from "../i18n";
import { Markdown } from "./Markdown";

function renderMd(text: string) {
  return render(
    <I18nProvider initial="ja" persist={false}>
      <Markdown text={text} />
    </I18nProvider>,
  );
}

function assertInert(container: HTMLElement) {
  expect(container.querySelectorAll("img, script, iframe, object, embed, style, svg").length).toBe(0);
  for (const el of container.querySelectorAll("*")) {
    for (const attr of Array.from(el.attributes)) {
      expect(attr.name.startsWith("on"), `${el.tagName} ${attr.name}`).toBe(false);
    }
  }
  for (const a of container.querySelectorAll("[href]")) {
    expect(a.getAttribute("href") ?? "").not.toMatch(/^\s*(javascript|vbscript|data):/i);
  }
}

describe("Markdown", () => {
  it("renders an <img onerror> in an answer as text, not as an element", () => {
    const { container } = renderMd("見てください <img src=x onerror=alert(1)> これ");
    assertInert(container);
    expect(container.textContent).toContain("<img src=x onerror=alert(1)>");
  });

  it("renders a <script> block as text", () => {
    const { container } = renderMd("<script>alert(1)</script>\n\n次の段落");
    assertInert(container);
    expect(container.textContent).toContain("<script>alert(1)</script>");
    expect(container.textContent).toContain("次の段落");
  });

  it("drops javascript: links and keeps their text", () => {
    const { container } = renderMd("[x](javascript:alert(1)) and [y](JaVaScRiPt:alert(1)) and <javascript:alert(1)>");
    assertInert(container);
    expect(container.querySelector('a[href^="javascript"]')).toBeNull();
    expect(container.textContent).toContain("x");
  });

  it("does not load images, not even from https (it links to them instead)", () => {
    const { container } = renderMd("![logo](https://example.com/a.png) ![bad](javascript:alert(1))");
    assertInert(container);
    const link = container.querySelector("a.md-image");
    expect(link?.getAttribute("href")).toBe("https://example.com/a.png");
    expect(link?.getAttribute("rel")).toContain("noopener");
  });

  it("keeps HTML in many shapes inert", () => {
    const attacks = [
      '<a href="javascript:alert(1)">click</a>',
      "<iframe src=javascript:alert(1)></iframe>",
      '<svg onload="alert(1)"></svg>',
      "<details open ontoggle=alert(1)>",
      '<div style="background:url(javascript:alert(1))">x</div>',
      "[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
      "<style>body{display:none}</style>",
    ];
    for (const a of attacks) assertInert(renderMd(a).container);
  });

  it("renders GFM tables and code blocks with a copy button", () => {
    const { container, getByRole } = renderMd("| a | b |\n|---|---|\n| 1 | 2 |\n\n```js\nconst x = 1;\n```");
    expect(container.querySelector("table td")?.textContent).toBe("1");
    expect(container.querySelector("pre code")?.textContent).toContain("const x = 1;");
    expect(getByRole("button", { name: "コードをコピー" })).toBeTruthy();
    expect(container.querySelector(".code-lang")?.textContent).toBe("js");
  });

  it("opens http links in a new tab without an opener", () => {
    const { container } = renderMd("[docs](https://example.com/docs)");
    const a = container.querySelector("a");
    expect(a?.getAttribute("target")).toBe("_blank");
    expect(a?.getAttribute("rel")).toContain("noopener");
  });
});
