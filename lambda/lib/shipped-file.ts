// A file shipped with the function (in its bundle or a layer), named by an environment variable.

import { readFileSync } from "node:fs";
import * as path from "node:path";
import { ConfigurationError } from "./errors";

/**
 * Reads a file the function ships with: `file` is absolute (e.g. `/opt/…` in a layer) or relative to
 * `LAMBDA_TASK_ROOT` (else the working directory), as `variable` named it.
 * @throws ConfigurationError naming the variable (never the file's content) when it cannot be read
 */
export function readShippedFile(
  env: Readonly<Record<string, string | undefined>>,
  variable: string,
  file: string,
): string {
  try {
    return readFileSync(path.resolve(env.LAMBDA_TASK_ROOT ?? process.cwd(), file), "utf8");
  } catch {
    throw new ConfigurationError(`${variable} cannot be read`);
  }
}
