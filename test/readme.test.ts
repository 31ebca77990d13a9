// The README's first screen shows the walkthrough `npm start` prints; this keeps the two from drifting.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { API_ROUTES } from "../infra/demo/routes";
import { curlWalkthrough, machineWalkthrough } from "../local/walkthrough";

const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");

test("the README starts with the two commands of a fresh machine", () => {
  const firstBlock = /```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
  expect(firstBlock).toMatch(/^npm install && npm start\b/m);
  expect(firstBlock).toMatch(/^npm test\b/m);
});

test("the README shows exactly the curl walkthrough that npm start prints on the default port", () => {
  const printed = curlWalkthrough({ url: "http://127.0.0.1:3000", routes: API_ROUTES }).join("\n");
  expect(readme).toContain(printed);
});

test("the README's Machines and agents section shows exactly the machine walkthrough npm start prints", () => {
  const section = readme.slice(readme.indexOf("\n## Machines and agents\n"));
  const printed = machineWalkthrough({ url: "http://127.0.0.1:3000", routes: API_ROUTES }).join("\n");
  expect(printed).toContain("/dev/m2m-client");
  expect(section).toContain(printed);
});

test(".ci/run runs the README's test command", () => {
  const ci = readFileSync(join(__dirname, "..", ".ci", "run"), "utf8");
  expect(ci).toMatch(/^npm test$/m);
});

test('"Attach to your own API" is one complete app file that imports the package (the consumer test compiles and synthesizes it)', () => {
  const section = readme.slice(readme.indexOf("\n## Attach to your own API\n"), readme.indexOf("\n## Deploy\n"));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks).toHaveLength(1);
  expect(blocks[0]).toMatch(/^import /);
  expect(blocks[0]).toMatch(/^import \{ StytchAuthorizer \} from "stytch-b2b-apigw-authorizer\/cdk";$/m);
  expect(blocks[0].trimEnd()).toMatch(/\napp\.synth\(\);$/);
  expect(blocks[0]).not.toContain("…");
});
