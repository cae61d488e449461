import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  createRecordDecoder,
  FetchedRecord,
  type KafkajsDecoder,
  kafkajsRecordDecoder,
  type RecordBatchContext,
  useFastRecordDecoder,
} from "./record_decoder.ts";

const require = createRequire(import.meta.url);
const root = dirname(require.resolve("kafkajs"));
interface EncoderLike {
  buffer: Buffer;
  writeInt8(value: number): EncoderLike;
  writeVarLong(value: number | bigint | string): EncoderLike;
  writeVarInt(value: number): EncoderLike;
  writeVarIntBytes(value: Buffer | null): EncoderLike;
  writeVarIntArray(values: EncoderLike[]): EncoderLike;
}
const Encoder = require(join(root, "src/protocol/encoder.js")) as new () => EncoderLike;
const Decoder = require(join(root, "src/protocol/decoder.js")) as new (
  buffer: Buffer,
) => KafkajsDecoder;
const Header = require(join(root, "src/protocol/recordBatch/header/v0/index.js")) as (
  header: { key: string; value: Buffer | null },
) => EncoderLike;

interface RecordSpec {
  timestampDelta: number | bigint | string;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

/** A record's bytes as Kafka writes them (after the length), by kafkajs's own encoder. */
function encode(record: RecordSpec): Buffer {
  return new Encoder()
    .writeInt8(0)
    .writeVarLong(record.timestampDelta)
    .writeVarInt(record.offsetDelta)
    .writeVarIntBytes(record.key)
    .writeVarIntBytes(record.value)
    .writeVarIntArray(record.headers.map(Header)).buffer;
}

const original = kafkajsRecordDecoder();
const fast = createRecordDecoder(original);

/** Decodes with both decoders; asserts the same record and the same bytes consumed. */
function assertSame(bytes: Buffer, context: RecordBatchContext): unknown {
  const expectedDecoder = new Decoder(bytes);
  const expected = original(expectedDecoder, context);
  const actualDecoder = new Decoder(bytes);
  const actual = fast(actualDecoder, context) as Record<string, unknown>;
  assert.equal(actualDecoder.offset, expectedDecoder.offset);
  // The headers are read when asked for: the record's own fields, then them.
  const expectedFields = { ...(expected as Record<string, unknown>) };
  delete expectedFields.headers;
  if (actual instanceof FetchedRecord) {
    assert.deepStrictEqual({ ...actual }, expectedFields);
    // The same own keys in the same order (deepStrictEqual ignores order).
    assert.deepEqual(Object.keys(actual), Object.keys(expectedFields));
  } else assert.deepStrictEqual(actual, expected);
  const headersOf = (record: unknown) => (record as { headers: object }).headers;
  assert.deepStrictEqual(headersOf(actual), headersOf(expected));
  assert.deepEqual(Reflect.ownKeys(headersOf(actual)), Reflect.ownKeys(headersOf(expected)));
  return actual;
}

const batch = (overrides: RecordBatchContext = {}): RecordBatchContext => ({
  firstOffset: "41",
  firstTimestamp: "1764712345678",
  magicByte: 2,
  isControlBatch: false,
  timestampType: 0,
  maxTimestamp: "1764712349999",
  ...overrides,
});

const record = (overrides: Partial<RecordSpec> = {}): RecordSpec => ({
  timestampDelta: 17,
  offsetDelta: 3,
  key: Buffer.from("campaign-1"),
  value: Buffer.from('{"id":"x"}'),
  headers: [{ key: "job-type", value: Buffer.from("job.email.welcome") }],
  ...overrides,
});

Deno.test("createRecordDecoder: a job record decodes as kafkajs decodes it", () => {
  const decoded = assertSame(encode(record()), batch()) as { offset: string; timestamp: string };
  assert.equal(decoded.offset, "44");
  assert.equal(decoded.timestamp, "1764712345695");
});

Deno.test("createRecordDecoder: keys, values and headers in every shape", () => {
  const context = batch();
  const shapes: Partial<RecordSpec>[] = [
    { key: null },
    { value: null },
    { key: Buffer.alloc(0), value: Buffer.alloc(0) },
    { headers: [] },
    { headers: [{ key: "a", value: null }] },
    {
      headers: [
        { key: "a", value: Buffer.from("1") },
        { key: "b", value: Buffer.from("2") },
        { key: "a", value: Buffer.from("3") },
        { key: "a", value: Buffer.from("4") },
      ],
    },
    // kafkajs's quirks: an inherited name, and __proto__ as an own property.
    { headers: [{ key: "toString", value: Buffer.from("t") }] },
    {
      headers: [
        { key: "__proto__", value: Buffer.from("p") },
        { key: "__proto__", value: Buffer.from("q") },
      ],
    },
    { headers: [{ key: "", value: Buffer.from("empty key") }] },
    // Names decoded once and then recognised by their bytes: non-ASCII, long, many.
    { headers: [{ key: "tâche-é", value: Buffer.from("1") }, { key: "tâche-è", value: null }] },
    { headers: [{ key: "x".repeat(65), value: Buffer.from("long") }] },
    { headers: Array.from({ length: 40 }, (_, i) => ({ key: `h${i}`, value: Buffer.from([i]) })) },
    { value: Buffer.alloc(300_000, 7) },
  ];
  // Twice: the second time, names come from what the first pass saw.
  for (const shape of [...shapes, ...shapes]) assertSame(encode(record(shape)), context);
});

Deno.test("createRecordDecoder: deltas and bases at the edges of the number path", () => {
  const deltas = [0, 1, -1, 63, -64, 64, 8191, -8192, 2 ** 31 - 1, -(2 ** 31), 2 ** 47, -(2 ** 48)];
  for (const timestampDelta of deltas) {
    assertSame(encode(record({ timestampDelta })), batch());
  }
  // Beyond 7 bytes of varlong, and beyond 2^53: kafkajs's decoder takes over.
  for (const timestampDelta of [2n ** 49n, -(2n ** 50n), 2n ** 62n, -(2n ** 63n)]) {
    assertSame(encode(record({ timestampDelta })), batch());
  }
  for (const offsetDelta of [0, 1, 2 ** 20, 2 ** 31 - 1]) {
    assertSame(encode(record({ offsetDelta })), batch());
  }
  const bases: RecordBatchContext[] = [
    batch({ firstOffset: "0", firstTimestamp: "0" }),
    batch({ firstTimestamp: "-1" }),
    batch({ firstOffset: "9007199254740990" }), // 2^53 - 2: + 3 leaves the safe range
    batch({ firstOffset: "9223372036854775800" }),
    batch({ firstTimestamp: "9223372036854775000" }),
    batch({ firstOffset: "0041" }), // not canonical text: left to kafkajs
  ];
  for (const context of bases) assertSame(encode(record()), context);
});

Deno.test("createRecordDecoder: log-append time, control batches, no context", () => {
  assertSame(encode(record()), batch({ timestampType: 1 }));
  assertSame(encode(record()), batch({ timestampType: 1, maxTimestamp: "" }));
  assertSame(encode(record({ timestampDelta: 2n ** 60n })), batch({ timestampType: 1 }));
  assertSame(encode(record()), batch({ isControlBatch: true }));
  const noControl = batch();
  delete noControl.isControlBatch;
  assertSame(encode(record()), noControl);
});

Deno.test("createRecordDecoder: records of several batches in turn", () => {
  const first = batch({ firstOffset: "100" });
  const second = batch({ firstOffset: "5000", firstTimestamp: "1764712000000" });
  for (let i = 0; i < 5; i++) {
    assertSame(encode(record({ offsetDelta: i })), first);
    assertSame(encode(record({ offsetDelta: i })), second);
  }
});

Deno.test("createRecordDecoder: headers read after the decoder moved on, set, and read twice", () => {
  const specs = [
    record({ offsetDelta: 0 }),
    record({
      offsetDelta: 1,
      headers: [
        { key: "job-type", value: Buffer.from("job.reward.deliver") },
        { key: "job-id", value: null },
        { key: "job-type", value: Buffer.from("again") },
      ],
    }),
    record({ offsetDelta: 2, headers: [] }),
  ];
  const bytes = Buffer.concat(specs.map(encode));
  const expectedDecoder = new Decoder(bytes);
  const expected = specs.map(() => original(expectedDecoder, batch()));
  const actualDecoder = new Decoder(bytes);
  const actual = specs.map(() => fast(actualDecoder, batch()) as FetchedRecord);
  assert.equal(actualDecoder.offset, bytes.length);
  // Every record decoded first; only then their headers.
  actual.forEach((decoded, i) => {
    assert.ok(decoded instanceof FetchedRecord);
    assert.deepStrictEqual(decoded.headers, (expected[i] as { headers: unknown }).headers);
    assert.equal(decoded.headers, decoded.headers, "read once, then kept");
  });
  actual[0]!.headers = { replaced: Buffer.from("yes") };
  assert.deepStrictEqual(actual[0]!.headers, { replaced: Buffer.from("yes") });
});

Deno.test("useFastRecordDecoder: idempotent, and kafkajs's decoder stays reachable", () => {
  const installed = useFastRecordDecoder();
  assert.equal(useFastRecordDecoder(), installed);
  assert.equal(kafkajsRecordDecoder(), original);
});

Deno.test("createRecordDecoder: kafkajs's decoder is called only for what numbers cannot hold", () => {
  let fallbacks = 0;
  const counting = createRecordDecoder((decoder, context) => {
    fallbacks++;
    return original(decoder, context);
  });
  counting(new Decoder(encode(record())), batch());
  counting(new Decoder(encode(record({ timestampDelta: -(2 ** 40) }))), batch());
  assert.equal(fallbacks, 0);
  counting(new Decoder(encode(record({ timestampDelta: 2n ** 62n }))), batch());
  counting(new Decoder(encode(record())), batch({ firstOffset: "9223372036854775800" }));
  assert.equal(fallbacks, 2);
});
