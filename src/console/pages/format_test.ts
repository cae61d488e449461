import assert from "node:assert/strict";
import { formatCount, formatDuration, formatRate, formatTime } from "./format.ts";

Deno.test("rates, counts, durations and times read as people expect", () => {
  assert.equal(formatRate(0), "0");
  assert.equal(formatRate(0.25), "0.25/s");
  assert.equal(formatRate(1234.4), "1,234/s");
  assert.equal(formatCount(12345), "12,345");
  assert.equal(formatDuration(undefined), "–");
  assert.equal(formatDuration(0.0005), "500 µs");
  assert.equal(formatDuration(0.0123), "12.3 ms");
  assert.equal(formatDuration(1.5), "1.5 s");
  assert.equal(formatTime("2026-11-28T09:00:05.123Z"), "2026-11-28 09:00:05Z");
  assert.equal(formatTime(null), "–");
});
