// Starting and stopping the local HTTP servers (the API and the demo page) the same way.

import type { Server } from "node:http";

/** Listens on `host:port`; rejects on e.g. EADDRINUSE. */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Stops listening and drops open connections. */
export function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections (fetch and browsers keep them) would hold close() open; nobody is waiting for them.
    server.closeAllConnections();
  });
}
