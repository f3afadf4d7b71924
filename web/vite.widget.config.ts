// The support widget's loader: one classic script, dist/widget.js, unhashed so a
// site can embed a stable URL. Runs after the app build and must not empty dist/.
import { defineConfig } from "vite";

export default defineConfig({
  publicDir: false,
  build: {
    outDir: "dist",
    emptyOutDir: false,
    target: "es2018",
    lib: {
      entry: "src/widget/loader.ts",
      formats: ["iife"],
      name: "TenmonArkWidget",
      fileName: () => "widget.js",
    },
  },
});
