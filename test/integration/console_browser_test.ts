/**
 * The console in a real browser (Debian's Chromium via playwright-core),
 * against the real worker, Kafka, PostgreSQL and SMTP catcher.
 * With JOBPOOL_SCREENSHOTS_DIR=docs/console it refreshes the README's pictures.
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { createJobEvent, type JobEvent } from "../../src/jobs/mod.ts";
import { launchChromium, screenshotPath } from "../browser/chromium.ts";
import { type ConsoleStack, startConsoleStack, TEST_TOKEN } from "./_console_fixture.ts";
import { produce, waitUntil } from "./fixtures/worker_harness.ts";

function welcome(stack: ConsoleStack, userIndex: number): JobEvent {
  const { accountId, campaignId, userIds } = stack.campaign;
  return createJobEvent({
    type: "job.email.welcome",
    accountId,
    campaignId,
    data: { type: "welcome", campaign_id: campaignId, user_id: userIds[userIndex]!, priority: 1 },
  });
}

/** The Overview's processed count of `type` (0 before its row appears). */
async function processedOnPage(page: Page, type: string): Promise<number> {
  const cell = page.locator(`tr[data-type="${type}"] [data-field="total-processed"]`);
  if (await cell.count() === 0) return 0;
  return Number((await cell.innerText()).replaceAll(",", ""));
}

async function screenshot(page: Page, name: string): Promise<void> {
  const path = screenshotPath(name);
  if (path) await page.screenshot({ path, fullPage: true });
}

Deno.test("console in Chromium: live overview, refused and confirmed replays", async (t) => {
  await using stack = await startConsoleStack("console_browser");
  await using browser = await launchChromium();
  const page = await browser.context.newPage();
  const type = "job.email.welcome";

  await t.step("the overview loads and updates as jobs flow", async () => {
    await page.goto(stack.consoleUrl);
    assert.equal(await page.locator("h1").innerText(), "Overview");
    const before = await processedOnPage(page, type);
    await produce(stack.config, [1, 2, 3].map((i) => welcome(stack, i)));
    // The page refreshes itself: no reload here, so the numbers must arrive by its script.
    await waitUntil(
      async () => await processedOnPage(page, type) >= before + 3,
      "3 jobs on the page",
      30_000,
    );
    const afterFirst = await processedOnPage(page, type);
    await produce(stack.config, [4, 5].map((i) => welcome(stack, i)));
    await waitUntil(
      async () => await processedOnPage(page, type) >= afterFirst + 2,
      "2 more jobs",
      30_000,
    );
    await waitUntil(
      async () =>
        await page.locator(`[data-group="${stack.config.worker.consumerGroup}"] [data-member]`)
          .count() === 1,
      "the worker as the group's member",
      30_000,
    );
    assert.equal(await page.locator("canvas").count() > 0, true, "uPlot drew the charts");
    await screenshot(page, "overview.png");
  });

  // A welcome email the SMTP server refuses for good (5xx) is dead-lettered.
  const failing = welcome(stack, 6);
  stack.smtp.rejectNext(550, "Mailbox unavailable", 1);
  await produce(stack.config, [failing]);
  const row = page.locator(`#dead-letters tr:has(a[href="/jobs?id=${failing.id}"])`);
  await waitUntil(
    async () => {
      await page.goto(`${stack.consoleUrl}dead-letters`);
      return await row.count() === 1;
    },
    "the dead letter on the page",
    60_000,
  );

  await t.step("an action without the token is refused", async () => {
    await row.locator('input[name="position"]').check();
    await page.locator("#replay-selected").click();
    await page.waitForLoadState();
    assert.equal(await page.locator("h1").innerText(), "Refused");
    assert.match(await page.locator("[role=alert]").innerText(), /needs the console token; log in/);
    // Outside the page: a cross-site form post, a wrong bearer token, a session without CSRF token.
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const crossSite = await fetch(`${stack.consoleUrl}dead-letters/replay`, {
      method: "POST",
      headers: { ...form, origin: "https://evil.example" },
      body: "confirm=yes&position=0:0",
    });
    assert.equal(crossSite.status, 403);
    await crossSite.body?.cancel();
    const wrongBearer = await fetch(`${stack.consoleUrl}dead-letters/replay`, {
      method: "POST",
      headers: { ...form, authorization: "Bearer not-the-token" },
      body: "confirm=yes&position=0:0",
    });
    assert.equal(wrongBearer.status, 401);
    await wrongBearer.body?.cancel();
    assert.equal(
      stack.smtp.messages.some((m) => m.headers.get("x-jobpool-event") === failing.id),
      false,
    );
  });

  await t.step("a dead letter replayed from the page results in the job's effect", async () => {
    await page.goto(`${stack.consoleUrl}login?next=/dead-letters`);
    await page.locator('input[name="token"]').fill(TEST_TOKEN);
    await page.locator('button[type="submit"]').click();
    await page.waitForURL(/\/dead-letters$/);
    await row.locator('input[name="position"]').check();
    await screenshot(page, "dead-letters.png");
    await page.locator("#replay-selected").click();
    await page.waitForLoadState();
    assert.equal(await page.locator("h1").innerText(), "Replay 1 dead letter(s)?");
    await page.locator("#confirm-replay").click();
    await page.waitForLoadState();
    assert.match(await page.locator("#replay-result").innerText(), /Replayed 1 dead letter/);

    // The effect: the worker ran the job again and the email went out, recorded as sent.
    await waitUntil(
      () => stack.smtp.messages.some((m) => m.headers.get("x-jobpool-event") === failing.id),
      "the replayed job's email",
      60_000,
    );
    await waitUntil(async () => {
      const [row] = await stack.db
        .sql`select status from email_deliveries where event_id = ${failing.id}`;
      return row?.status === "sent";
    }, "the email recorded as sent");

    await page.goto(`${stack.consoleUrl}jobs?id=${failing.id}`);
    await waitUntil(
      async () => {
        await page.reload();
        return (await page.locator('[data-field="outcome"]').innerText()).startsWith("done");
      },
      "the job shown as done",
      30_000,
    );
    assert.equal(await page.locator('[data-field="email-status"]').innerText(), "sent");
    assert.equal(await page.locator('[data-field="partition"]').count(), 1);
    await screenshot(page, "job.png");
  });
});
