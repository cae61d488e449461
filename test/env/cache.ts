/**
 * Where the test environment keeps what it downloads and builds: a user-level
 * folder outside the clone, so a fresh clone on the same machine reuses it.
 *
 * @module
 */

import { join } from "node:path";

/**
 * The cache root: `JOBPOOL_CACHE_DIR`, else `$XDG_CACHE_HOME/jobpool`, else
 * `~/.cache/jobpool`.
 */
export function cacheRoot(): string {
  const explicit = Deno.env.get("JOBPOOL_CACHE_DIR");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "jobpool");
  const home = Deno.env.get("HOME");
  if (!home) throw new Error("Cannot place the cache: set JOBPOOL_CACHE_DIR or HOME");
  return join(home, ".cache", "jobpool");
}

/** A sub-folder of the cache root, created when missing. */
export async function cacheDir(...parts: string[]): Promise<string> {
  const dir = join(cacheRoot(), ...parts);
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
