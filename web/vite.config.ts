// The app build (index.html → dist/) and the unit-test settings. The support
// widget's loader has its own build (vite.widget.config.ts): it must be one
// unhashed classic script, which an app build cannot also produce.
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // bench/budget.mjs reads it to find the chunks the first load of /chat needs.
    manifest: true,
    target: "es2022",
    sourcemap: false,
  },
  server: {
    // `npm run dev` against a local server (make run) on :3000.
    proxy: { "/api": "http://127.0.0.1:3000", "/health": "http://127.0.0.1:3000" },
  },
  test: {
    environment: "happy-dom",
    // Tests never load real scripts or frames (the widget test points at a fake host).
    environmentOptions: {
      happyDOM: { settings: { disableJavaScriptFileLoading: true, disableIframePageLoading: true, handleDisabledFileLoadingAsSuccess: true } },
    },
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    restoreMocks: true,
  },
});
