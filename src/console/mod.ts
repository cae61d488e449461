/**
 * The web console (`deno task console`): job rates, consumer groups, dead
 * letters with replay, job lookup and JobWorkerPools, in a browser.
 *
 * @module
 */

export { type RunningConsole, startConsole } from "./console.ts";
export { type ConsoleServices, createConsoleApp, SESSION_COOKIE } from "./server.ts";
export { ConsoleAuth, type ConsoleAuthOptions, type Session } from "./auth.ts";
