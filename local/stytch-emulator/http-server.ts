// The emulator's HTTP server: every request is counted, given its fault, read, delayed, and answered by its
// route (or by its fault); close() ends hanging connections and pending delays at once.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { CallCounters } from "./call-counters";
import type { FaultAnswer, FaultInjector, JwksFaultMode } from "./faults";
import type { JsonObject } from "./json";
import { readBody } from "./request-body";
import type { Route, RouteRequest, Router } from "./router";
import { internalServerError, StytchApiError, stytchErrorBody } from "./stytch-api-error";

/** What the server answers with. */
export interface HttpServerParts {
  router: Router;
  counters: CallCounters;
  faults: FaultInjector;
  /** Mints the `request_id` of error bodies. */
  newRequestId: () => string;
}

/** A loopback HTTP server that answers through the route table. */
export class EmulatorHttpServer {
  readonly #parts: HttpServerParts;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #url = "";
  #closed: Promise<void> | undefined;

  constructor(parts: HttpServerParts) {
    this.#parts = parts;
    this.#server = createServer((req, res) => this.#onRequest(req, res));
    // Tracked so close() can end keep-alive and hanging connections instead of waiting for them.
    this.#server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
  }

  /** Base URL once listening, e.g. `"http://127.0.0.1:41234"` (no trailing slash). */
  get url(): string {
    return this.#url;
  }

  /** Listens on `host:port` (0: an ephemeral port); rejects on e.g. EADDRINUSE. */
  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        // Build the URL from the bound address: "localhost" may have resolved to ::1 or 127.0.0.1.
        const { address, port: boundPort } = this.#server.address() as AddressInfo;
        this.#url = `http://${address.includes(":") ? `[${address}]` : address}:${boundPort}`;
        resolve();
      });
    });
  }

  /** Closes the server and destroys all open sockets (including hanging ones). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closed;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const { router, counters, faults } = this.#parts;
    const pathname = new URL(req.url ?? "/", "http://emulator").pathname;
    const match = router.match(pathname, req.method);
    const route = match?.route;
    counters.count(route?.counter);
    // The one-shot fault is taken on arrival, so "fail the next request" means the next one received, even if
    // several are in flight at once.
    const fault = faults.take(route?.faultSwitch);

    readBody(req).then(
      (rawBody) => {
        const request: RouteRequest = {
          method: req.method,
          pathname,
          param: match?.param ?? "",
          rawBody,
          authorization: req.headers.authorization,
        };
        route?.onReceived?.(request);
        this.#after(faults.latencyOf(route?.faultSwitch), () => this.#respond(req, res, route, request, fault));
      },
      () => {
        // The client went away while sending the body: there is nobody to answer.
      },
    );
  }

  #after(ms: number, action: () => void): void {
    if (this.#closed !== undefined) return;
    if (ms <= 0) {
      action();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
  }

  #respond(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route | undefined,
    request: RouteRequest,
    fault: JwksFaultMode,
  ): void {
    if (this.#closed !== undefined || res.destroyed) return;
    const faultAnswer = this.#parts.faults.answerFor(fault);
    if (faultAnswer !== undefined) {
      this.#answerFault(req, res, faultAnswer);
      return;
    }
    const routeFault = route?.faultAnswer?.();
    if (routeFault !== undefined) {
      send(res, routeFault.status, routeFault.body);
      return;
    }
    try {
      send(res, 200, JSON.stringify(this.#parts.router.handle(route, request)));
    } catch (error) {
      this.#sendError(res, error instanceof StytchApiError ? error : internalServerError(String(error)));
    }
  }

  #answerFault(req: IncomingMessage, res: ServerResponse, answer: FaultAnswer): void {
    switch (answer.kind) {
      case "hang":
        return; // close() destroys the socket; until then the client waits or aborts.
      case "reset":
        // resetAndDestroy sends a TCP RST, the closest thing to a load balancer dropping the connection.
        req.socket.resetAndDestroy();
        return;
      case "error":
        this.#sendError(res, answer.error);
        return;
      case "body":
        send(res, answer.status, answer.body);
        return;
      case "oversized":
        sendOversized(res, answer.body, answer.minBytes);
        return;
    }
  }

  #sendError(res: ServerResponse, error: StytchApiError): void {
    send(res, error.statusCode, stytchErrorBody(error, this.#parts.newRequestId()));
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** A valid JSON body padded past `minBytes`, streamed without Content-Length. */
function sendOversized(res: ServerResponse, body: JsonObject, minBytes: number): void {
  if (res.destroyed) return;
  const head = `${JSON.stringify(body).slice(0, -1)},"padding":"`;
  res.writeHead(200, { "Content-Type": "application/json" });
  res.write(head);
  const chunk = "A".repeat(64 * 1024);
  for (let written = head.length; written < minBytes; written += chunk.length) res.write(chunk);
  res.end('"}');
}
