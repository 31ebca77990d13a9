// Finding 9.2g: the local API must not accept connections before it can answer them. It used to listen first
// and load the handlers afterwards; a request arriving in between found no request listener and was never
// answered. This file runs in its own worker, so the handler modules load from scratch (asynchronously) here.

import { afterAll, expect, test } from "vitest";
import { logger } from "../lambda/lib/operations/log";
import { type LocalApi, startLocalApi } from "../local/local-api";
import { freePort } from "./support/npm-start";

let api: LocalApi | undefined;

afterAll(async () => {
  await api?.close();
});

test("every connection the local API accepts during start-up gets an answer, because it listens only once ready", async () => {
  logger.setLogLevel("SILENT");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/me`;
  let started = false;
  const answers: Array<number | "hung"> = [];
  // Four clients hammer the port from before start-up until the server is up, as a browser tab reloading would.
  const pollers = [0, 1, 2, 3].map(async () => {
    while (!started) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
        await res.body?.cancel();
        answers.push(res.status);
      } catch (error) {
        if ((error as Error).name === "TimeoutError") answers.push("hung");
        else await new Promise((resolve) => setTimeout(resolve, 1)); // refused: nobody listens yet
      }
    }
  });
  api = await startLocalApi({ port, env: {}, quiet: true });
  // Let any request accepted during start-up either be answered or time out.
  await new Promise((resolve) => setTimeout(resolve, 3_200));
  started = true;
  await Promise.all(pollers);
  expect(answers.length).toBeGreaterThan(0);
  expect(answers.filter((status) => status !== 401)).toEqual([]);
});
