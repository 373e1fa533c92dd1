// Builds the single-page UI into api/ui/, which FastAPI serves (api/app.py).
// The server's CSP allows no inline script or style: Vite's build emits only files
// (<script src>, <link rel=stylesheet>), and nothing here may add inline code.
import { fileURLToPath, URL } from "node:url";
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";
import vantFontAsFile from "./vant-font.js";

export default defineConfig({
  plugins: [vantFontAsFile(), vue()],
  base: "/",
  build: {
    outDir: fileURLToPath(new URL("../api/ui", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    // Inline nothing (fonts, icons) as data: URLs: font-src is 'self' only.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
  server: { proxy: { "/api": "http://127.0.0.1:8000", "/go": "http://127.0.0.1:8000" } },
});
