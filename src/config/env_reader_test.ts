import assert from "node:assert/strict";
import { ConfigError, EnvReader } from "./mod.ts";

Deno.test("int, bool, list and oneOf read values and fall back when blank", () => {
  const env = new EnvReader({ N: "42", B: "yes", L: "a, ,b", E: "Latest", BLANK: "  " });
  assert.equal(env.int("N", 1), 42);
  assert.equal(env.int("BLANK", 7), 7);
  assert.equal(env.bool("B", false), true);
  assert.deepEqual(env.list("L", []), ["a", "b"]);
  assert.equal(env.oneOf("E", ["earliest", "latest"] as const, "earliest"), "latest");
  env.done();
});

Deno.test("problems are collected and thrown together", () => {
  const env = new EnvReader({ N: "4.5", B: "maybe", U: "ftp://x", R: "" });
  env.int("N", 1, { min: 0 });
  env.bool("B", false);
  env.url("U", ["smtp", "smtps"], "smtp://localhost");
  env.required("R", "the database URL");
  assert.throws(() => env.done(), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems.map((p) => p.variable), ["N", "B", "U", "R"]);
    assert.match(error.message, /N: must be an integer >= 0, got "4.5"/);
    return true;
  });
});

Deno.test("url hides a password in its message", () => {
  const env = new EnvReader({ U: "http://user:hunter2@host" });
  env.url("U", ["smtp"], "smtp://localhost");
  assert.throws(() => env.done(), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.doesNotMatch(error.message, /hunter2/);
    return true;
  });
});
