/**
 * The kafkajs package `import "kafkajs"` resolves to, for the modules that
 * reach into its internals (`request_queue_fix.ts`, `record_decoder.ts`,
 * `member_rejoin.ts`, `busy_fetch_wait.ts`).
 *
 * @module
 */

import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/**
 * The kafkajs package folder, checked to be release `version`.
 *
 * @throws {TypeError} naming `module` when kafkajs is another release:
 * compare what `module` touches, then adapt or remove it.
 */
export function kafkajsRoot(version: string, module: string): string {
  const root = dirname(require.resolve("kafkajs"));
  const found = (require(join(root, "package.json")) as { version: string }).version;
  if (found !== version) {
    throw new TypeError(
      `kafkajs ${found} is not ${version}, the release ${module} was written for: ` +
        "check whether it is still needed, then adapt or remove it",
    );
  }
  return root;
}

/**
 * kafkajs's internal `ConsumerGroup` class (`src/consumer/consumerGroup.js`),
 * which two patches change (`member_rejoin.ts`, `busy_fetch_wait.ts`).
 *
 * @throws {TypeError} naming `module` when kafkajs is not release `version`.
 */
export function kafkajsConsumerGroupClass(version: string, module: string): { prototype: object } {
  return require(join(kafkajsRoot(version, module), "src/consumer/consumerGroup.js"));
}
