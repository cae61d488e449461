/**
 * The SMTP catcher of `test/env/smtp.ts` as a process of its own, so that the
 * email benchmark measures the sender without the catcher's parsing on the
 * same thread. Prints `{"url": …}` once listening, then one `{"messages": n}`
 * line per line read on stdin; exits when stdin closes.
 *
 * @module
 */

import { startSmtp } from "../env/smtp.ts";

const catcher = await startSmtp();
const encoder = new TextEncoder();
const write = (value: unknown) =>
  Deno.stdout.writeSync(encoder.encode(`${JSON.stringify(value)}\n`));
write({ url: catcher.url });
const decoder = new TextDecoderStream();
Deno.stdin.readable.pipeTo(decoder.writable).catch(() => {});
for await (const chunk of decoder.readable) {
  for (const _line of chunk.split("\n").slice(0, -1)) write({ messages: catcher.messages.length });
}
await catcher.stop();
