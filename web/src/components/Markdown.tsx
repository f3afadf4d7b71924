// Model answers as Markdown, never as HTML. react-markdown builds React elements
// (no innerHTML); raw HTML in the text is turned into literal text before
// rendering, so `<img onerror=…>` shows as what it is and runs nothing. skipHtml
// stays on as a second guard, unsafe URLs (javascript:, data:) are dropped by the
// URL transform and such links render as plain text, and remote images are shown
// as links instead of being loaded.

import ReactMarkdown, { defaultUrlTransform, type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import type { ReactNode } from "react";
import { CopyButton } from "./CopyButton";
import { useT } from "../i18n";
import { TableScroll } from "./TableScroll";

interface MdNode {
  type: string;
  value?: string;
  children?: MdNode[];
}

/** A remark plugin: raw HTML nodes become text nodes, shown escaped. */
function htmlAsText() {
  const walk = (node: MdNode) => {
    if (node.type === "html") node.type = "text";
    node.children?.forEach(walk);
  };
  return (tree: MdNode) => walk(tree);
}

interface HastNode {
  type: string;
  value?: string;
  tagName?: string;
  properties?: { className?: unknown };
  children?: HastNode[];
}

function textOf(node: HastNode | undefined): string {
  if (!node) return "";
  if (node.type === "text") return node.value ?? "";
  return (node.children ?? []).map(textOf).join("");
}

function languageOf(node: HastNode | undefined): string | null {
  const code = node?.children?.find((c) => c.tagName === "code");
  const cls = code?.properties?.className;
  const list = Array.isArray(cls) ? cls.map(String) : [];
  const lang = list.find((c) => c.startsWith("language-"));
  return lang ? lang.slice("language-".length) : null;
}

function safeHref(href: string | undefined): string | null {
  if (!href) return null;
  const cleaned = defaultUrlTransform(href);
  return cleaned ? cleaned : null;
}

function CodeBlock({ node, children }: { node: HastNode | undefined; children: ReactNode }) {
  const t = useT();
  const lang = languageOf(node);
  return (
    <div className="code-block">
      <div className="code-block-bar">
        <span className="code-lang">{lang ?? t("markdown.code")}</span>
        <CopyButton text={textOf(node).replace(/\n$/, "")} label="markdown.copyCode" />
      </div>
      <pre>{children}</pre>
    </div>
  );
}

const components: Components = {
  pre: ({ node, children }) => <CodeBlock node={node as HastNode | undefined}>{children}</CodeBlock>,
  a: ({ href, children }) => {
    const safe = safeHref(href);
    if (!safe) return <span className="md-link-removed">{children}</span>;
    const external = /^https?:/i.test(safe);
    return (
      <a href={safe} {...(external ? { target: "_blank", rel: "noopener noreferrer nofollow" } : {})}>
        {children}
      </a>
    );
  },
  img: ({ src, alt }) => {
    const safe = typeof src === "string" ? safeHref(src) : null;
    const label = alt || (typeof src === "string" ? src : "");
    if (!safe || !/^https?:/i.test(safe)) return <span className="md-image">{label}</span>;
    return (
      <a className="md-image" href={safe} target="_blank" rel="noopener noreferrer nofollow">
        {label}
      </a>
    );
  },
  table: ({ children }) => (
    <TableScroll>
      <table>{children}</table>
    </TableScroll>
  ),
};

export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={[remarkGfm, htmlAsText]} skipHtml components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
}
