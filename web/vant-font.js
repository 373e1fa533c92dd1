// Vant's icon font is a data: URL with a CDN fallback in vant/lib/index.css; the server's
// CSP allows fonts from 'self' only (no data:, no CDN). This plugin takes the font out of
// the style sheet into a file of its own, which Vite then emits as a hashed asset.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const CACHE = join(dirname(fileURLToPath(import.meta.url)), "node_modules", ".linli");
const FONT_SRC = /src:url\(data:font\/woff2;charset=utf-8;base64,([A-Za-z0-9+/=]+)\)[^;}]*/;

export default function vantFontAsFile() {
  return {
    name: "linli-vant-font-as-file",
    enforce: "pre",
    transform(code, id) {
      if (!id.replace(/\\/g, "/").includes("/vant/lib/index.css")) return null;
      const found = FONT_SRC.exec(code);
      if (!found) this.error("vant/lib/index.css: the icon font was not found; check this plugin");
      mkdirSync(CACHE, { recursive: true });
      const file = join(CACHE, "vant-icon.woff2");
      writeFileSync(file, Buffer.from(found[1], "base64"));
      const url = relative(dirname(id), file).replace(/\\/g, "/");
      return { code: code.replace(FONT_SRC, `src:url(${url}) format("woff2")`), map: null };
    },
  };
}
