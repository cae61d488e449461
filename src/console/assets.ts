/**
 * The console's static files: its own stylesheet and scripts, and uPlot's
 * script and stylesheet taken from the pinned npm package (`npm:uplot`,
 * MIT). All are part of the module graph (text imports), so they are cached
 * with the code, need no file access at run time and never come from a CDN.
 *
 * @module
 */

import uplotScript from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotStyle from "uplot/dist/uPlot.min.css" with { type: "text" };
import consoleStyle from "./static/console.css" with { type: "text" };
import overviewScript from "./static/overview.js" with { type: "text" };
import deadLettersScript from "./static/dead_letters.js" with { type: "text" };

/** A static file: its body, content type and entity tag. */
export interface Asset {
  /** The file's text. */
  body: string;
  /** Its `content-type`. */
  type: string;
  /** A strong ETag of the body. */
  etag: string;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** The files under `/static/`, by name. */
export async function loadAssets(): Promise<Map<string, Asset>> {
  const files: [string, string, string][] = [
    ["uPlot.iife.min.js", uplotScript, JS],
    ["uPlot.min.css", uplotStyle, CSS],
    ["console.css", consoleStyle, CSS],
    ["overview.js", overviewScript, JS],
    ["dead_letters.js", deadLettersScript, JS],
  ];
  const assets = new Map<string, Asset>();
  for (const [name, body, type] of files) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
    const etag = `"${
      [...new Uint8Array(digest).slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("")
    }"`;
    assets.set(name, { body, type, etag });
  }
  return assets;
}
