import assert from "node:assert/strict";
import { EnvReader, readMailConfig } from "../config/mod.ts";
import type { Sql } from "../db/mod.ts";
import { createJobEvent, JOB_TYPES, PermanentJobError } from "../jobs/mod.ts";
import type { Mailer } from "../mail/mod.ts";
import { logger } from "../observability/logging.ts";
import { createJobHandlers, type HandlerContext } from "./mod.ts";

/** A client that fails the test when a query is made. */
const noDatabase = (() => {
  throw new Error("No query expected");
}) as unknown as Sql;

const noMail: Mailer = {
  send: () => Promise.reject(new Error("No mail expected")),
  verify: () => Promise.resolve(),
  close: () => {},
};

const context: HandlerContext = {
  signal: new AbortController().signal,
  log: logger("test"),
  attempt: 1,
};

Deno.test("there is a handler for every job type", () => {
  const handlers = createJobHandlers({
    sql: noDatabase,
    mailer: noMail,
    config: readMailConfig(new EnvReader({})),
  });
  assert.deepEqual(Object.keys(handlers).sort(), [...JOB_TYPES].sort());
});

Deno.test("a payload for another campaign than the envelope's is permanent", async () => {
  const handlers = createJobHandlers({
    sql: noDatabase,
    mailer: noMail,
    config: readMailConfig(new EnvReader({})),
  });
  const campaignId = crypto.randomUUID();
  const other = crypto.randomUUID();
  const email = createJobEvent({
    type: "job.email.welcome",
    accountId: crypto.randomUUID(),
    campaignId,
    data: { type: "welcome", campaign_id: other, user_id: crypto.randomUUID(), priority: 1 },
  });
  await assert.rejects(handlers["job.email.welcome"](email, context), PermanentJobError);
  const recalc = createJobEvent({
    type: "job.position.recalculate",
    accountId: crypto.randomUUID(),
    campaignId,
    data: { campaign_id: other, points_per_referral: 1 },
  });
  await assert.rejects(handlers["job.position.recalculate"](recalc, context), PermanentJobError);
});

Deno.test("the delivery handlers' steps each fit on one screen (60 lines)", async () => {
  const files = ["./email/deliver_email.ts", "./rewards/deliver_reward_job.ts"];
  for (const file of files) {
    const lines = (await Deno.readTextFile(new URL(file, import.meta.url))).split("\n");
    let start: { line: number; name: string } | undefined;
    for (const [index, line] of lines.entries()) {
      const declared = line.match(/^(?:export )?(?:async )?function (\w+)/);
      if (declared) start = { line: index, name: declared[1]! };
      if (line === "}" && start) {
        const length = index - start.line + 1;
        assert.ok(length <= 60, `${file}: ${start.name} is ${length} lines long: split it`);
        start = undefined;
      }
    }
  }
});
