import { defineConfig } from "vite";

// The bundle is served by `lcstore serve` from the build tree: relative
// asset paths, no CDN, everything in one folder.
export default defineConfig({
  base: "./",
  build: { outDir: process.env.LCSTORE_WEB_OUT ?? "dist", emptyOutDir: true },
});
