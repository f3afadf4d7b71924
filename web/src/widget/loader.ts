// The embeddable support widget's loader (dist/widget.js, a classic script):
//   <script src="https://HOST/widget.js" data-assistant="mnp-support" defer></script>
// It adds a chat bubble in a closed Shadow DOM (the host page's CSS cannot reach
// it, ours cannot leak out) and, on the first click, an iframe to HOST/widget.
// Everything that talks to the API runs inside that iframe, on HOST's origin; the
// server's frame-ancestors policy decides which sites may embed it.
// Kept dependency-free and small: it loads on every page of the host site.

(() => {
  const w = window as Window & { __tenmonArkWidget?: boolean };
  if (w.__tenmonArkWidget) return;
  w.__tenmonArkWidget = true;

  const script =
    (document.currentScript as HTMLScriptElement | null) ??
    Array.from(document.querySelectorAll<HTMLScriptElement>("script[src]")).find((s) => /\/widget\.js(\?|#|$)/.test(s.src)) ??
    null;
  if (!script) return;
  const host = new URL(script.src, location.href).origin;
  const assistant = /^[A-Za-z0-9_-]{1,64}$/.test(script.dataset.assistant ?? "") ? (script.dataset.assistant as string) : "default";
  const en = (navigator.language || "ja").toLowerCase().startsWith("en");
  const L = en
    ? { open: "Open support chat", close: "Close support chat", title: "Support chat" }
    : { open: "サポートチャットを開く", close: "サポートチャットを閉じる", title: "サポートチャット" };

  const CSS = `
:host{all:initial}
.b{position:fixed;right:20px;bottom:20px;z-index:2147483647;width:60px;height:60px;border-radius:50%;border:0;cursor:pointer;
background:radial-gradient(circle at 35% 30%,#ffd98a,#e8503a 45%,#1d3f9e 100%);box-shadow:0 6px 20px rgba(0,0,0,.3);
display:flex;align-items:center;justify-content:center;padding:0}
.b:focus-visible{outline:3px solid #ffbf47;outline-offset:3px}
.b svg{width:28px;height:28px;fill:#fff}
.p{position:fixed;right:20px;bottom:92px;z-index:2147483647;width:380px;height:600px;max-height:calc(100vh - 112px);
max-width:calc(100vw - 40px);border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.35);background:#fff;display:none}
.p.o{display:block}
.p iframe{width:100%;height:100%;border:0;display:block}
@media (max-width:480px){.p{right:0;bottom:0;width:100vw;max-width:100vw;height:100%;max-height:100%;border-radius:0}
.b.o{bottom:auto;top:12px;right:12px;width:44px;height:44px}}
@media (prefers-reduced-motion:no-preference){.b{transition:transform .15s}.b:hover{transform:scale(1.06)}}`;

  const ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  const ICON_CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";
  const SVG = "http://www.w3.org/2000/svg";
  const icon = (d: string): SVGSVGElement => {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  };

  const mount = () => {
    const el = document.createElement("tenmon-ark-widget");
    // Inline and !important: a host stylesheet must not hide or move the element.
    el.setAttribute("style", "all:initial !important;position:static !important;display:block !important");
    const root = el.attachShadow({ mode: "closed" });
    const style = document.createElement("style");
    style.textContent = CSS;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "b";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-label", L.open);
    button.appendChild(icon(ICON_CHAT));
    const panel = document.createElement("div");
    panel.className = "p";
    panel.id = "tenmon-ark-panel";
    button.setAttribute("aria-controls", panel.id);
    root.append(style, panel, button);

    let frame: HTMLIFrameElement | null = null;
    const setOpen = (open: boolean) => {
      if (open && !frame) {
        frame = document.createElement("iframe");
        frame.title = L.title;
        frame.src = `${host}/widget?assistant=${encodeURIComponent(assistant)}`;
        frame.setAttribute("allow", "clipboard-write");
        frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
        panel.appendChild(frame);
      }
      panel.classList.toggle("o", open);
      button.classList.toggle("o", open);
      button.setAttribute("aria-expanded", String(open));
      button.setAttribute("aria-label", open ? L.close : L.open);
      button.replaceChildren(icon(open ? ICON_CLOSE : ICON_CHAT));
      if (open) frame?.focus();
      else button.focus();
    };
    button.addEventListener("click", () => setOpen(!panel.classList.contains("o")));
    // The iframe asks to close (its × button, Escape); only our own origin may.
    window.addEventListener("message", (e) => {
      if (e.origin === host && e.data && e.data.type === "tenmon-ark:close") setOpen(false);
    });
    document.body.appendChild(el);
  };

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();

// A module for the type checker and the tests; the IIFE build emits no exports.
export {};
