// HTTPS listeners in front of the (plain HTTP, loopback) Stytch emulator: one listener per consumer,
// so that every JWKS fetch and every Stytch API call can be attributed to the verifier that made it.
// Requests are forwarded verbatim to the emulator, which therefore also counts them in its own totals.

import { Agent, request as httpRequest } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";

/** What one consumer asked for, by endpoint. */
export interface FrontCounts {
  jwks: number;
  /** `POST /v1/b2b/sessions/authenticate`: a Stytch API call. */
  authenticate: number;
  /** `GET /v1/b2b/rbac/…`: the project's or an organization's RBAC policy. */
  rbacPolicy: number;
  other: number;
  /** TLS connections accepted. */
  connections: number;
}

/** A running HTTPS listener for one consumer. */
export interface TlsFront {
  readonly name: string;
  /** `https://127.0.0.1:<port>`, a bare origin usable as STYTCH_API_URL or `custom_base_url`. */
  readonly url: string;
  readonly counts: FrontCounts;
  /** The simulated network round trip, in ms (0: loopback as it is). */
  readonly roundTripMs: number;
  close(): Promise<void>;
}

/** Options of {@link startTlsFront}. */
export interface TlsFrontOptions {
  /**
   * Simulates a network between the client and Stytch with this round-trip time, in ms. Every request
   * costs one round trip, and a new connection two more before its first request can be answered (TCP's
   * handshake and TLS 1.3's): an answer leaves no earlier than `max(request arrival, connection accepted
   * + 2 × rtt) + rtt`. The handshake itself runs at loopback speed; only the answers wait. Default 0.
   */
  readonly roundTripMs?: number;
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
  options: TlsFrontOptions = {},
): Promise<TlsFront> {
  const upstream = new URL(upstreamUrl);
  const roundTripMs = options.roundTripMs ?? 0;
  if (!(roundTripMs >= 0)) throw new RangeError("roundTripMs must be a non-negative number of milliseconds");
  const counts: FrontCounts = { jwks: 0, authenticate: 0, rbacPolicy: 0, other: 0, connections: 0 };
  /** When each connection's simulated handshakes are over (ms on performance.now()'s clock). */
  const handshakeDone = new WeakMap<TLSSocket, number>();
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const arrived = performance.now();
    const ready = handshakeDone.get(req.socket as TLSSocket) ?? arrived;
    const answerAt = Math.max(arrived, ready) + roundTripMs;
    const path = req.url ?? "/";
    if (path.startsWith("/v1/b2b/sessions/jwks/")) counts.jwks++;
    else if (path.startsWith("/v1/b2b/sessions/authenticate")) counts.authenticate++;
    else if (path.startsWith("/v1/b2b/rbac/")) counts.rbacPolicy++;
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
        const send = () => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        };
        const wait = answerAt - performance.now();
        if (roundTripMs > 0 && wait > 0) setTimeout(send, wait);
        else send();
      },
    );
    forward.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    counts.connections++;
    handshakeDone.set(socket, performance.now() + 2 * roundTripMs);
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
    roundTripMs,
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
