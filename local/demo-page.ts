// The demo page of `npm start`: a plain HTML page with a little script (local/demo/) that uses the API the way a
// single-page app would, from a second origin: same host as the API, another port. Same host keeps the page
// and the API same-site, so the Stytch cookies (SameSite=Lax) ride its credentialed fetches; another port makes
// it cross-origin, so every call goes through CORS exactly as it would from a real frontend.

import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { closeServer, listen } from "./http-server";

/** A running demo page server. */
export interface DemoPage {
  /** e.g. `http://127.0.0.1:3001` */
  readonly url: string;
  /**
   * The origins the page may be opened from: the URL's, and the same port on `localhost`. The page calls the API
   * on its own host name, so whichever it is opened from, page and API stay same-site.
   */
  readonly origins: readonly string[];
  close(): Promise<void>;
}

/** Options of {@link startDemoPage}. */
export interface DemoPageOptions {
  readonly host: string;
  /** `0`: an ephemeral port. */
  readonly port: number;
  /** The API's port, once known (the page answers 503 "starting" until then). */
  readonly apiPort: () => number | undefined;
  readonly mode: "emulator" | "stytch";
}

const STATIC_DIR = path.join(__dirname, "demo");
const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/demo.js": { file: "demo.js", type: "text/javascript; charset=utf-8" },
  "/demo.css": { file: "demo.css", type: "text/css; charset=utf-8" },
};

/**
 * Serves the demo page. Its request handler is attached before it listens, so it answers from the first
 * connection on.
 * @throws when the port is taken
 */
export async function startDemoPage(options: DemoPageOptions): Promise<DemoPage> {
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    const entry = FILES[pathname];
    const apiPort = options.apiPort();
    const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
      res.writeHead(status, {
        "content-type": type,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        ...extra,
      });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(405, "text/plain; charset=utf-8", "Method Not Allowed\n", { allow: "GET, HEAD" });
    if (pathname === "/favicon.ico") return send(204, "image/x-icon", ""); // no icon, and no 404 in the console
    if (!entry) return send(404, "text/plain; charset=utf-8", "Not Found\n");
    if (apiPort === undefined)
      return send(503, "text/plain; charset=utf-8", "The local API is starting; reload in a moment.\n", {
        "retry-after": "1",
      });
    readFile(path.join(STATIC_DIR, entry.file)).then(
      (content) => {
        const body = entry.file === "index.html" ? withConfig(content.toString("utf8"), apiPort, options) : content;
        send(200, entry.type, body, {
          "content-security-policy": contentSecurityPolicy(apiPort),
          "referrer-policy": "no-referrer",
        });
      },
      () => send(500, "text/plain; charset=utf-8", "demo page files are missing\n"),
    );
  });
  await listen(server, options.port, options.host);
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host}:${port}`;
  const origins = [...new Set([url, `http://localhost:${port}`])];
  return { url, origins, close: () => closeServer(server) };
}

/** The page's settings, as JSON inside a non-executable script element (the CSP allows no inline script). */
function withConfig(html: string, apiPort: number, options: DemoPageOptions): string {
  const config = { apiPort, mode: options.mode };
  // `<` escaped, so no value can close the script element.
  return html.replace("{{DEMO_CONFIG}}", JSON.stringify(config).replace(/</g, "\\u003c"));
}

/** Scripts and styles from the page's own origin only; fetches only to the API, on either loopback name. */
function contentSecurityPolicy(apiPort: number): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src http://127.0.0.1:${apiPort} http://localhost:${apiPort}`,
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
