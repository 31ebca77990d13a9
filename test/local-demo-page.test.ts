// The demo page server of `npm start`: what it serves, with which headers, and how it behaves while the API
// is still starting. The page's behaviour in a browser is tested in browser-demo.test.ts.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoPage, startDemoPage } from "../local/demo-page";

let demo: DemoPage;
let apiPort: number | undefined;

beforeAll(async () => {
  demo = await startDemoPage({ host: "127.0.0.1", port: 0, apiPort: () => apiPort, mode: "emulator" });
});

afterAll(async () => {
  await demo?.close();
});

describe("the demo page server", () => {
  it("answers 503 with Retry-After while the API's port is not known yet, instead of a page that cannot work", async () => {
    const res = await fetch(demo.url);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
  });

  it("names its origins on 127.0.0.1 and localhost, the API's default allow-list", () => {
    const port = new URL(demo.url).port;
    expect(demo.origins).toEqual([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  });

  it("serves the page with its settings inlined as JSON and a CSP that allows scripts from itself and fetches to the API only", async () => {
    apiPort = 3999;
    const res = await fetch(demo.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src http://127.0.0.1:3999 http://localhost:3999");
    expect(csp).toContain("default-src 'none'");
    const html = await res.text();
    const config = JSON.parse(/<script type="application\/json" id="demo-config">(.*?)<\/script>/.exec(html)![1]!) as {
      apiPort: number;
      mode: string;
    };
    expect(config).toEqual({ apiPort: 3999, mode: "emulator" });
    expect(html).not.toContain("<script>"); // no inline script: the CSP would refuse it
  });

  it("serves its script and style sheet with their types, 404 for anything else and 405 for other methods", async () => {
    expect((await fetch(`${demo.url}/demo.js`)).headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await fetch(`${demo.url}/demo.css`)).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await fetch(`${demo.url}/../package.json`)).status).toBe(404);
    expect((await fetch(`${demo.url}/local-api.ts`)).status).toBe(404);
    const post = await fetch(demo.url, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});
