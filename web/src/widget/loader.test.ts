import { afterEach, describe, expect, it, vi } from "vitest";

describe("widget loader", () => {
  afterEach(() => {
    document.body.replaceChildren();
    delete (window as { __tenmonArkWidget?: boolean }).__tenmonArkWidget;
    vi.resetModules();
    vi.restoreAllMocks();
  });

  async function load(language = "ja-JP") {
    vi.spyOn(navigator, "language", "get").mockReturnValue(language);
    const script = document.createElement("script");
    script.src = "https://chat.example.jp/widget.js";
    script.dataset.assistant = "mnp-support";
    document.body.appendChild(script);
    const roots: ShadowRoot[] = [];
    const original = Element.prototype.attachShadow;
    vi.spyOn(Element.prototype, "attachShadow").mockImplementation(function (this: Element, init: ShadowRootInit) {
      const root = original.call(this, init);
      roots.push(root);
      return root;
    });
    await import("./loader");
    return { roots, host: document.querySelector("tenmon-ark-widget") as HTMLElement };
  }

  it("adds a bubble in a closed shadow root and opens HOST/widget in an iframe on click", async () => {
    const { roots, host } = await load();
    expect(host).toBeTruthy();
    expect(host.shadowRoot).toBeNull();
    expect(Element.prototype.attachShadow).toHaveBeenCalledWith({ mode: "closed" });
    const root = roots[0] as ShadowRoot;
    const button = root.querySelector("button") as HTMLButtonElement;
    expect(button.getAttribute("aria-label")).toBe("サポートチャットを開く");
    expect(button.getAttribute("aria-expanded")).toBe("false");
    expect(root.querySelector("iframe")).toBeNull();
    button.click();
    const frame = root.querySelector("iframe") as HTMLIFrameElement;
    expect(frame.src).toBe("https://chat.example.jp/widget?assistant=mnp-support");
    expect(frame.title).toBe("サポートチャット");
    expect(button.getAttribute("aria-expanded")).toBe("true");
    button.click();
    expect(button.getAttribute("aria-expanded")).toBe("false");
  });

  it("labels itself in English for an English browser", async () => {
    const { roots } = await load("en-US");
    expect(roots[0]?.querySelector("button")?.getAttribute("aria-label")).toBe("Open support chat");
  });

  it("closes only on a message from its own origin", async () => {
    const { roots } = await load();
    const button = roots[0]?.querySelector("button") as HTMLButtonElement;
    button.click();
    window.dispatchEvent(new MessageEvent("message", { origin: "https://evil.example", data: { type: "tenmon-ark:close" } }));
    expect(button.getAttribute("aria-expanded")).toBe("true");
    window.dispatchEvent(new MessageEvent("message", { origin: "https://chat.example.jp", data: { type: "tenmon-ark:close" } }));
    expect(button.getAttribute("aria-expanded")).toBe("false");
  });
});
