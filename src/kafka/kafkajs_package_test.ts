import assert from "node:assert/strict";
import { kafkajsRoot } from "./kafkajs_package.ts";

Deno.test("kafkajsRoot: the package folder of the pinned release, a TypeError naming the module otherwise", () => {
  assert.match(kafkajsRoot("2.2.4", "m.ts"), /kafkajs/);
  assert.throws(() => kafkajsRoot("9.9.9", "src/kafka/m.ts"), (error: unknown) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /kafkajs 2\.2\.4 is not 9\.9\.9, the release src\/kafka\/m\.ts/);
    return true;
  });
});
