// HTTPS listeners in front of the (plain HTTP, loopback) Stytch emulator: one listener per consumer,
// so that every JWKS fetch and every Stytch API call can be attributed to the verifier that made it.
// Requests are forwarded verbatim to the emulator, which therefore also counts them in its own totals.

import { Agent, request as httpRequest } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";

/** What one consumer asked for, by endpoint. */
export interface FrontCounts {
  jwks: number;
  /** `POST /v1/b2b/sessions/authenticate`: a Stytch API call. */
  authenticate: number;
  other: number;
}

/** A running HTTPS listener for one consumer. */
export interface TlsFront {
  readonly name: string;
  /** `https://127.0.0.1:<port>`, a bare origin usable as STYTCH_API_URL or `custom_base_url`. */
  readonly url: string;
  readonly counts: FrontCounts;
  close(): Promise<void>;
}

/** Keep-alive to the emulator, so the proxy hop adds as little as possible to a cold start. */
const upstreamAgent = new Agent({ keepAlive: true });

/**
 * Starts an HTTPS listener on 127.0.0.1 that forwards everything to `upstreamUrl`.
 * @param name the consumer, for the printed counts
 * @param upstreamUrl the emulator's base URL (`http://127.0.0.1:<port>`)
 */
export async function startTlsFront(
  name: string,
  upstreamUrl: string,
  tls: { key: Buffer; cert: Buffer },
): Promise<TlsFront> {
  const upstream = new URL(upstreamUrl);
  const counts: FrontCounts = { jwks: 0, authenticate: 0, other: 0 };
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const path = req.url ?? "/";
    if (path.startsWith("/v1/b2b/sessions/jwks/")) counts.jwks++;
    else if (path.startsWith("/v1/b2b/sessions/authenticate")) counts.authenticate++;
    else counts.other++;
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        path,
        method: req.method,
        headers: { ...req.headers, host: upstream.host },
        agent: upstreamAgent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    name,
    url: `https://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Releases the pooled upstream connections (so the process can exit). */
export function closeUpstreamConnections(): void {
  upstreamAgent.destroy();
}
