import assert from "node:assert/strict";
import { escapeHtml, headerText } from "./html.ts";

Deno.test("escapeHtml escapes markup and quotes", () => {
  assert.equal(
    escapeHtml(`<script>alert("x" & 'y')</script>`),
    "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;",
  );
  assert.equal(escapeHtml(42), "42");
});

Deno.test("headerText keeps a header on one line", () => {
  assert.equal(headerText("Hello\r\nBcc: evil@example.com "), "Hello Bcc: evil@example.com");
});
