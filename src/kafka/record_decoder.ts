/**
 * A faster decoder of Kafka records for kafkajs 2.2.4, the last release.
 *
 * kafkajs decodes each record's timestamp and offset with its 64-bit `Long`
 * (a BigInt wrapper): a variable-length long read byte by byte into Longs,
 * zig-zag decoded with five more, the batch's first offset and timestamp
 * parsed from text again for every record, then added and printed. It
 * collects headers by spreading the object built so far once per header.
 * Together that is about a third of kafkajs's decoding time and much of its
 * garbage (`bench:worker` profile: the header spread and `Long` were ~150 ms
 * of 200,000 records).
 *
 * This decoder returns the same record: the same fields, the offset and
 * timestamp as the same decimal text, `headers` built with the same rules
 * (a repeated key becomes an array; kafkajs's quirks with inherited names
 * such as `toString` and with `__proto__` are kept) but only when first read
 * ({@linkcode FetchedRecord}: the worker rarely reads them). It does the arithmetic
 * in plain numbers while every value stays a safe integer (offsets and
 * millisecond timestamps always do in practice) and hands any record it
 * cannot do so to kafkajs's own decoder, from the record's start.
 * `record_decoder_test.ts` checks both decoders on real and crafted batches.
 *
 * kafkajs requires its record decoder once, when the first fetch response
 * arrives, and keeps it in a constant; {@linkcode useFastRecordDecoder}
 * replaces the module's export before then (`createKafkaClient` calls it
 * before any consumer exists). If kafkajs already loaded it, the call
 * changes nothing and returns false.
 *
 * @module
 */

import { createRequire } from "node:module";
import { join } from "node:path";
import { kafkajsRoot as packageRoot } from "./kafkajs_package.ts";
import type { Buffer } from "node:buffer";

/** The kafkajs release this decoder was written against and tested with. */
export const RECORD_DECODER_KAFKAJS_VERSION = "2.2.4";

/** The part of kafkajs's internal `Decoder` the record decoder reads with. */
export interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
  readVarIntString(): string | null;
}

/** What kafkajs passes along with each record: its batch's header fields. */
export interface RecordBatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}

/** A record decoder with kafkajs's signature. */
export type RecordDecoder = (decoder: KafkajsDecoder, batchContext?: RecordBatchContext) => unknown;

const require = createRequire(import.meta.url);
const INSTALLED = Symbol.for("jobpool.kafkajs.fastRecordDecoder");
/** kafkajs's `TimestampTypes.LOG_APPEND_TIME`. */
const LOG_APPEND_TIME = 1;

function kafkajsRoot(): string {
  return packageRoot(RECORD_DECODER_KAFKAJS_VERSION, "src/kafka/record_decoder.ts");
}

/** kafkajs's own record decoder (`recordBatch/record/v0/decoder.js`). */
export function kafkajsRecordDecoder(): RecordDecoder {
  const decoder = require(join(kafkajsRoot(), RECORD_MODULE)) as RecordDecoder & {
    [INSTALLED]?: RecordDecoder;
  };
  return decoder[INSTALLED] ?? decoder;
}

const RECORD_MODULE = "src/protocol/recordBatch/record/v0/decoder.js";
const BATCH_MODULE = "src/protocol/recordBatch/v0/decoder.js";

/**
 * Makes kafkajs decode records with {@linkcode createRecordDecoder}.
 * Idempotent. Returns false when kafkajs had already loaded its batch
 * decoder (which then keeps kafkajs's record decoder: slower, same result).
 *
 * @throws {TypeError} when kafkajs is not the expected release.
 */
export function useFastRecordDecoder(): boolean {
  const root = kafkajsRoot();
  const recordPath = require.resolve(join(root, RECORD_MODULE));
  const batchPath = require.resolve(join(root, BATCH_MODULE));
  const original = require(recordPath) as RecordDecoder & { [INSTALLED]?: RecordDecoder };
  if (original[INSTALLED]) return true;
  if (require.cache[batchPath]) return false;
  const fast = createRecordDecoder(original) as RecordDecoder & { [INSTALLED]?: RecordDecoder };
  fast[INSTALLED] = original;
  const entry = require.cache[recordPath];
  if (!entry) return false;
  entry.exports = fast;
  return true;
}

/**
 * A record decoder that returns what `fallback` (kafkajs's) returns, with
 * number arithmetic; records it cannot decode so go to `fallback`.
 */
export function createRecordDecoder(fallback: RecordDecoder): RecordDecoder {
  // The numbers of the batch last seen (kafkajs passes one context object per batch).
  let context: RecordBatchContext | undefined;
  let firstOffset = Number.NaN;
  let firstTimestamp = Number.NaN;
  return function decodeRecord(decoder, batchContext = {}) {
    const start = decoder.offset;
    if (batchContext !== context) {
      context = batchContext;
      firstOffset = exactNumber(batchContext.firstOffset);
      firstTimestamp = exactNumber(batchContext.firstTimestamp);
    }
    const attributes = decoder.readInt8();
    const timestampDelta = readVarLong(decoder);
    const offsetDelta = decoder.readVarInt();
    const offset = firstOffset + offsetDelta;
    const logAppend = batchContext.timestampType === LOG_APPEND_TIME &&
      Boolean(batchContext.maxTimestamp);
    const timestamp = firstTimestamp + timestampDelta;
    if (
      Number.isNaN(timestampDelta) || !Number.isSafeInteger(offset) ||
      (!logAppend && !Number.isSafeInteger(timestamp))
    ) {
      decoder.offset = start;
      return fallback(decoder, batchContext);
    }
    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    const record = new FetchedRecord(decoder.buffer, decoder.offset);
    skipHeaders(decoder);
    record.magicByte = batchContext.magicByte;
    record.attributes = attributes;
    record.timestamp = logAppend ? batchContext.maxTimestamp! : String(timestamp);
    record.offset = String(offset);
    record.key = key;
    record.value = value;
    record.isControlRecord = batchContext.isControlBatch === undefined
      ? false
      : batchContext.isControlBatch;
    record.batchContext = batchContext;
    return record;
  };
}

/**
 * A record as kafkajs's decoder makes it, except that `headers` is read from
 * the fetched bytes when first asked for (then kept; it can be set too). The
 * worker reads a message's headers only to skip types it does not handle or
 * to copy them onto a dead letter; decoding three headers per record (three
 * Buffers and an object) was ~0.9 µs of a no-op job's ~7 µs. The bytes are
 * those the record's key and value already keep alive. `headers` is an
 * accessor of the class, so it is no own property: `Object.keys` and object
 * spread leave it out (read `record.headers` instead).
 */
export class FetchedRecord {
  /** The batch's magic byte. */
  magicByte: number | undefined = undefined;
  /** The record's attributes (unused by Kafka today). */
  attributes = 0;
  /** Milliseconds since the epoch, as decimal text. */
  timestamp = "";
  /** The offset, as decimal text. */
  offset = "";
  /** The key's bytes, or null. */
  key: Buffer | null = null;
  /** The value's bytes, or null. */
  value: Buffer | null = null;
  /** True for a control record of a transaction. */
  isControlRecord = false;
  /** The header fields of the record's batch. */
  batchContext: RecordBatchContext | undefined = undefined;
  readonly #bytes: Buffer;
  readonly #headersAt: number;
  #headers: Record<string, unknown> | undefined;

  /** A record whose headers start at `headersAt` in `bytes`. */
  constructor(bytes: Buffer, headersAt: number) {
    this.#bytes = bytes;
    this.#headersAt = headersAt;
  }

  /** The headers, as kafkajs collects them (see `readHeaders`). */
  get headers(): Record<string, unknown> {
    if (this.#headers === undefined) {
      const decoder = new (kafkajsDecoderClass())(this.#bytes);
      decoder.offset = this.#headersAt;
      this.#headers = readHeaders(decoder);
    }
    return this.#headers;
  }

  set headers(headers: Record<string, unknown>) {
    this.#headers = headers;
  }
}

let decoderClass: (new (buffer: Buffer) => KafkajsDecoder) | undefined;

/** kafkajs's `Decoder` (`src/protocol/decoder.js`), loaded once. */
function kafkajsDecoderClass(): new (buffer: Buffer) => KafkajsDecoder {
  decoderClass ??= require(join(kafkajsRoot(), DECODER_MODULE)) as new (
    buffer: Buffer,
  ) => KafkajsDecoder;
  return decoderClass;
}

const DECODER_MODULE = "src/protocol/decoder.js";

/** Moves past a record's headers as kafkajs's reading them would, without making them. */
function skipHeaders(decoder: KafkajsDecoder): void {
  const count = decoder.readVarInt();
  for (let i = 0; i < count; i++) {
    skipVarIntBytes(decoder); // the name
    skipVarIntBytes(decoder); // the value
  }
}

function skipVarIntBytes(decoder: KafkajsDecoder): void {
  const length = decoder.readVarInt();
  if (length !== -1) decoder.offset += length;
}

/** The decimal text as a number, or NaN when it is not exactly one (beyond 2^53). */
function exactNumber(text: string | undefined): number {
  if (text === undefined) return Number.NaN;
  const number = Number(text);
  return Number.isSafeInteger(number) && String(number) === text ? number : Number.NaN;
}

/**
 * A zig-zag variable-length long as a number, or NaN past 7 bytes (49 bits):
 * the record then goes to kafkajs's decoder, which reads up to 10.
 */
function readVarLong(decoder: KafkajsDecoder): number {
  const { buffer } = decoder;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const byte = buffer[decoder.offset++]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    scale *= 128;
  }
  return Number.NaN;
}

/** Headers as kafkajs collects them: a key seen again becomes an array. */
function readHeaders(decoder: KafkajsDecoder): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  const count = decoder.readVarInt();
  for (let i = 0; i < count; i++) {
    const key = String(readHeaderKey(decoder));
    const value = decoder.readVarIntBytes();
    // Read as kafkajs reads it, inherited names included.
    const seen = headers[key];
    const next = seen === undefined ? value : Array.isArray(seen) ? seen.concat([value]) : [
      seen,
      value,
    ];
    if (key === "__proto__") {
      Object.defineProperty(headers, key, {
        value: next,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else headers[key] = next;
  }
  return headers;
}

/** Header names decoded before, with their bytes: every job carries the same few. */
const headerKeys: { bytes: Uint8Array; text: string }[] = [];
/** Names longer than this, or past this many, are decoded every time. */
const HEADER_KEY_CACHE = { maxLength: 64, maxEntries: 16 } as const;

/**
 * A header name as kafkajs's `readVarIntString` reads it (UTF-8, null when
 * absent). The same bytes always decode to the same text, so a name seen
 * before is compared, not decoded again: a UTF-8 decode is a call into the
 * runtime, three per job.
 */
function readHeaderKey(decoder: KafkajsDecoder): string | null {
  const length = decoder.readVarInt();
  if (length === -1) return null;
  const { buffer } = decoder;
  const start = decoder.offset;
  const end = start + length;
  decoder.offset = end;
  if (end <= buffer.length) {
    for (const known of headerKeys) {
      if (known.bytes.length === length && sameBytes(known.bytes, buffer, start)) {
        return known.text;
      }
    }
  }
  const text = buffer.subarray(start, end).toString("utf8");
  if (
    end <= buffer.length && length <= HEADER_KEY_CACHE.maxLength &&
    headerKeys.length < HEADER_KEY_CACHE.maxEntries
  ) {
    headerKeys.push({ bytes: Uint8Array.from(buffer.subarray(start, end)), text });
  }
  return text;
}

function sameBytes(known: Uint8Array, buffer: Uint8Array, start: number): boolean {
  for (let i = 0; i < known.length; i++) {
    if (known[i] !== buffer[start + i]) return false;
  }
  return true;
}
