import assert from "node:assert/strict";
import { loadKafkaConfig } from "../../src/config/mod.ts";
import {
  createIdempotentProducer,
  createKafkaClient,
  kafkajsRequestQueue,
} from "../../src/kafka/mod.ts";
import { kafkaBrokers } from "../env/services.ts";

Deno.test("an idle connection of a jobpool kafkajs client does not spin on its request queue", async () => {
  // Counts kafkajs's checks of its pending requests; unpatched kafkajs 2.2.4
  // makes hundreds a second per idle connection (445 measured for this producer).
  const prototype = kafkajsRequestQueue().prototype;
  const check = prototype.checkPendingRequests;
  let checks = 0;
  prototype.checkPendingRequests = function (this: unknown) {
    checks++;
    check.call(this);
  };
  const kafka = createKafkaClient(
    loadKafkaConfig({ KAFKA_BROKERS: kafkaBrokers().join(",") }).kafka,
  );
  const producer = createIdempotentProducer(kafka);
  try {
    await producer.connect();
    // Connecting made requests: the counter watches the class the client uses.
    assert.ok(checks > 0, "no request-queue check counted while connecting");
    checks = 0;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.ok(checks < 20, `${checks} request-queue checks in one idle second`);
  } finally {
    await producer.disconnect();
    prototype.checkPendingRequests = check;
  }
});
