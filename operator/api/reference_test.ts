import assert from "node:assert/strict";
import { crdReferenceMarkdown, specFields } from "./reference.ts";

Deno.test("the reference lists nested fields with their defaults and rules", () => {
  const fields = new Map(specFields().map((field) => [field.path, field]));
  assert.equal(fields.get("image")?.required, true);
  assert.equal(fields.get("kafka.topic.name")?.default, '"job-events"');
  assert.equal(fields.get("kafka.topic.partitions")?.type, "integer");
  assert.match(
    fields.get("kafka.topic.partitions")?.description ?? "",
    /Rule: partitions can only grow/,
  );
  assert.match(fields.get("imagePullPolicy")?.description ?? "", /`IfNotPresent`/);
  assert.ok(fields.has("kafka.bootstrapServers"));
});

Deno.test("the markdown has one row per field", () => {
  const markdown = crdReferenceMarkdown();
  const rows = markdown.split("\n").filter((line) => line.startsWith("| `"));
  assert.equal(rows.length, specFields().length);
});
