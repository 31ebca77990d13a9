// `npm start`: the whole API on http://127.0.0.1:$PORT (default 3000), with an embedded Stytch unless
// STYTCH_PROJECT_ID and STYTCH_SECRET are set, and a demo page on http://127.0.0.1:$DEMO_PORT (default the next
// port). Prints both URLs, the routes and a curl walkthrough; Ctrl+C stops it.

export {}; // a module, not a global script

async function main(): Promise<void> {
  const port = parsePort("PORT", process.env.PORT, 3000);
  // Same host, next port: a second origin that is same-site with the API (see local/demo-page.ts).
  const demoPort = parsePort("DEMO_PORT", process.env.DEMO_PORT, port === 0 ? 0 : port + 1);
  // The authorizer's structured log would repeat every denial the request log already shows, so only its
  // warnings and faults are printed unless asked otherwise. Set before the authorizer's logger is created.
  process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";
  // EMF records would flood the terminal; the decision summary printed on exit shows what they would count.
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  const { startLocalApi } = await import("./local-api");
  const { banner } = await import("./walkthrough");
  const { DecisionSummary } = await import("./decision-summary");

  const decisions = new DecisionSummary();
  const api = await startLocalApi({ port, demoPort, onDecision: decisions.add });
  console.log(`\n${banner(api)}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // Ctrl+C reaches npm, tsx and this process alike, and tsx may relay it once more: ignore repeats.
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local API\n${decisions.line()}`);
    setTimeout(() => process.exit(1), 5_000).unref(); // never hang on the way out
    api.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

function parsePort(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const port = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || port > 65_535) {
    console.error(`${name} must be a port number (0-65535), not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return port;
}

main().catch((error: unknown) => {
  console.error(`npm start failed: ${(error as Error)?.message ?? String(error)}`);
  if ((error as NodeJS.ErrnoException)?.code === "EADDRINUSE")
    console.error(
      "Another server has the port; try e.g. PORT=3010 npm start (the demo page takes the next port, or DEMO_PORT)",
    );
  process.exit(1);
});
