/**
 * Async helpers shared by handlers, CLIs and the producer.
 *
 * @module
 */

export { delay, type DelayOptions } from "./delay.ts";
