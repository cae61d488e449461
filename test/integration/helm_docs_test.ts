/**
 * The chart's documents say what the operator does where the code cannot show
 * it: the replica count without KEDA (`replicas.min`, at least one).
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DOCS = [
  "README.md",
  "charts/jobpool-operator/README.md",
  "charts/jobpool-operator/templates/NOTES.txt",
];

Deno.test("docs say that without KEDA a pool runs replicas.min workers, at least one", async () => {
  for (const file of DOCS) {
    const text = (await Deno.readTextFile(join(ROOT, file))).replace(/\s+/g, " ");
    const claims = text.match(/runs `?(spec\.)?replicas\.min`?[^.|]*/g) ?? [];
    assert.ok(claims.length > 0, `${file} says how many workers run without KEDA`);
    for (const claim of claims) {
      assert.match(claim, /at least one/, `${file}: "${claim}" omits "at least one"`);
    }
  }
});
