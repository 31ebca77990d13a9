// The fenced code blocks of the README and of docs/, with where each one is, for the tests that hold the
// documents to the code: every TypeScript block compiles as pasted (test/consumer.test.ts), the README's
// walkthrough is what `npm start` prints, links resolve (test/readme.test.ts).

import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "..", "..");

/** One fenced block: its language (the info string's first word), its text, and where it starts. */
export interface DocBlock {
  /** The document, relative to the repository root, e.g. `docs/operations.md`. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly language: string;
  readonly code: string;
  /** The `## ` section it is in (empty before the first). */
  readonly section: string;
}

/** `README.md` and every Markdown page under `docs/`, relative to the repository root. */
export function documents(): string[] {
  const pages = readdirSync(path.join(REPO, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...pages];
}

/** The text of a document. */
export function documentText(file: string): string {
  return readFileSync(path.join(REPO, file), "utf8");
}

/** Every fenced block of the given documents (default: the README and docs/), in order. */
export function docBlocks(files: readonly string[] = documents()): DocBlock[] {
  const blocks: DocBlock[] = [];
  for (const file of files) {
    const lines = documentText(file).split("\n");
    let section = "";
    for (let i = 0; i < lines.length; i++) {
      const heading = /^## (.+)$/.exec(lines[i]!);
      if (heading) section = heading[1]!;
      const fence = /^```(\S*)/.exec(lines[i]!);
      if (!fence) continue;
      const end = lines.findIndex((line, j) => j > i && line.startsWith("```"));
      if (end < 0) throw new Error(`${file}:${i + 1}: a code block that never ends`);
      blocks.push({
        file,
        line: i + 1,
        language: fence[1] ?? "",
        code: `${lines.slice(i + 1, end).join("\n")}\n`,
        section,
      });
      i = end;
    }
  }
  return blocks;
}

/** A file name for a block, e.g. `docs-operations-l12.ts`: compiler errors then point at the document's line. */
export function snippetFileName(block: DocBlock): string {
  return `${block.file
    .replace(/\.md$/, "")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .toLowerCase()}-l${block.line}.ts`;
}
