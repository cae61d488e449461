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
  const fields = markdown.slice(0, markdown.indexOf("## Rules across fields"));
  const rows = fields.split("\n").filter((line) => line.startsWith("| `"));
  assert.equal(rows.length, specFields().length);
});

Deno.test("the markdown lists the spec's cross-field rules and every condition reason", () => {
  const markdown = crdReferenceMarkdown();
  assert.match(markdown, /- `replicas.max`: replicas.max must not exceed kafka.topic.partitions/);
  for (const type of ["Ready", "TopicReady", "ScalerReady", "Available"]) {
    assert.match(markdown, new RegExp(`### \`${type}\``));
  }
  assert.match(markdown, /\| `FallbackActive` \| False \|/);
});
