/**
 * Debian's Chromium (`/usr/bin/chromium`, installed by `.ci/run`) driven by
 * `playwright-core`, for the console's browser tests. Headless, with a fresh
 * profile per launch and without the background services that reach for the
 * internet (this machine's network is closed).
 *
 * @module
 */

import { type BrowserContext, chromium } from "playwright-core";

/** Where Debian's package puts Chromium. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** The flags known to work here (see the machine's notes): no sandbox as root, no network chatter. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

/** A browser with a profile of its own, closed (profile removed) on dispose. */
export interface TestBrowser extends AsyncDisposable {
  /** The browser context: open pages with `context.newPage()`. */
  context: BrowserContext;
}

/**
 * Starts Chromium with a new empty `--user-data-dir`.
 *
 * @throws {Error} saying how to install Chromium when it is missing.
 */
export async function launchChromium(): Promise<TestBrowser> {
  try {
    await Deno.stat(CHROMIUM_PATH);
  } catch {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: run 'apt-get install -y chromium' ` +
        "(.ci/run installs it when missing)",
    );
  }
  const profile = await Deno.makeTempDir({ prefix: "jobpool-chromium-" });
  // launchPersistentContext is how playwright takes a --user-data-dir of our own.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async [Symbol.asyncDispose]() {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Where screenshots go: `JOBPOOL_SCREENSHOTS_DIR` when set (e.g. `docs/console`
 * to refresh the README's pictures), else nowhere.
 */
export function screenshotPath(name: string): string | undefined {
  const dir = Deno.env.get("JOBPOOL_SCREENSHOTS_DIR");
  return dir ? `${dir.replace(/\/+$/, "")}/${name}` : undefined;
}
