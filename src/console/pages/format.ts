/**
 * How numbers and times read on the console's pages.
 *
 * @module
 */

/** Jobs per second: `0`, `0.25/s`, `12/s`, `1,234/s`. */
export function formatRate(perSecond: number): string {
  if (perSecond === 0) return "0";
  if (perSecond < 10) return `${Number(perSecond.toPrecision(2))}/s`;
  return `${Math.round(perSecond).toLocaleString("en-US")}/s`;
}

/** A count with thousands separators. */
export function formatCount(count: number): string {
  return Math.round(count).toLocaleString("en-US");
}

/** A duration in seconds as `850 µs`, `12 ms` or `1.5 s`; `–` when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds < 0.001) return `${Math.round(seconds * 1_000_000)} µs`;
  if (seconds < 1) return `${Number((seconds * 1000).toPrecision(3))} ms`;
  return `${Number(seconds.toPrecision(3))} s`;
}

/** An ISO time as `2026-11-28 09:00:05Z`, compact and unambiguous. */
export function formatTime(time: string | Date | null | undefined): string {
  if (time === null || time === undefined) return "–";
  const date = typeof time === "string" ? new Date(time) : time;
  if (Number.isNaN(date.getTime())) return String(time);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}
