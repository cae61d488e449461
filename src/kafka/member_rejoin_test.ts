import assert from "node:assert/strict";
import {
  type ConsumerGroupInternals,
  kafkajsConsumerGroup,
  rejoinAsSameMember,
} from "./member_rejoin.ts";

/**
 * A stand-in for kafkajs's `ConsumerGroup`: a join takes the id it was
 * given unless the coordinator does not know it, as kafkajs does.
 */
class FakeGroup implements ConsumerGroupInternals {
  static known = new Set<string>();
  static issued = 0;
  static brokerDown = false;
  memberId: string | null = null;
  constructor(readonly instrumentationEmitter: object) {}
  joinAndSync(): Promise<void> {
    if (FakeGroup.brokerDown) return Promise.reject(new Error("broker away"));
    if (this.memberId && !FakeGroup.known.has(this.memberId)) this.memberId = null;
    if (!this.memberId) {
      this.memberId = `member-${++FakeGroup.issued}`;
      FakeGroup.known.add(this.memberId);
    }
    return Promise.resolve();
  }
  leave(): Promise<void> {
    if (this.memberId) FakeGroup.known.delete(this.memberId);
    this.memberId = null;
    return Promise.resolve();
  }
}
rejoinAsSameMember(FakeGroup.prototype);

Deno.test("a restarted consumer's next group joins with the member id its last one had", async () => {
  const consumer = {};
  const first = new FakeGroup(consumer);
  await first.joinAndSync();
  const id = first.memberId;
  // kafkajs restarts after a crash with a new ConsumerGroup for the same consumer.
  const second = new FakeGroup(consumer);
  await second.joinAndSync();
  assert.equal(second.memberId, id);
});

Deno.test("an id the coordinator forgot is dropped, and the new one is kept from then on", async () => {
  const consumer = {};
  const first = new FakeGroup(consumer);
  await first.joinAndSync();
  FakeGroup.known.delete(first.memberId!); // its session ended meanwhile
  const second = new FakeGroup(consumer);
  await second.joinAndSync();
  assert.notEqual(second.memberId, first.memberId);
  const third = new FakeGroup(consumer);
  await third.joinAndSync();
  assert.equal(third.memberId, second.memberId);
});

Deno.test("a consumer that left joins afresh, and consumers never share an id", async () => {
  const a = {};
  const b = {};
  const groupA = new FakeGroup(a);
  const groupB = new FakeGroup(b);
  await groupA.joinAndSync();
  await groupB.joinAndSync();
  assert.notEqual(groupA.memberId, groupB.memberId);
  const left = groupA.memberId;
  await groupA.leave();
  const again = new FakeGroup(a);
  await again.joinAndSync();
  assert.notEqual(again.memberId, left);
  const restartedB = new FakeGroup(b);
  await restartedB.joinAndSync();
  assert.equal(restartedB.memberId, groupB.memberId);
});

Deno.test("a failed join keeps the id for the next try", async () => {
  const consumer = {};
  const first = new FakeGroup(consumer);
  await first.joinAndSync();
  FakeGroup.brokerDown = true;
  try {
    const failing = new FakeGroup(consumer);
    await assert.rejects(() => failing.joinAndSync(), /broker away/);
    assert.equal(failing.memberId, first.memberId);
  } finally {
    FakeGroup.brokerDown = false;
  }
  const next = new FakeGroup(consumer);
  await next.joinAndSync();
  assert.equal(next.memberId, first.memberId);
});

Deno.test("kafkajs's ConsumerGroup has what the patch wraps, and is patched once", () => {
  const prototype = kafkajsConsumerGroup().prototype;
  assert.equal(typeof prototype.joinAndSync, "function");
  assert.equal(typeof prototype.leave, "function");
  rejoinAsSameMember(prototype);
  const patched = prototype.joinAndSync;
  rejoinAsSameMember(prototype);
  assert.equal(prototype.joinAndSync, patched, "idempotent");
});
