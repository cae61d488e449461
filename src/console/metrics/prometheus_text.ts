/**
 * Reading Prometheus's text exposition format (what prom-client serves on a
 * worker's `/metrics`) into plain samples.
 *
 * @module
 */

/** One sample line: a metric name, its labels and its value. */
export interface Sample {
  /** The metric name, with any `_bucket`, `_sum` or `_count` suffix. */
  name: string;
  /** The labels, unescaped. */
  labels: Record<string, string>;
  /** The value; `Infinity`, `-Infinity` and `NaN` included. */
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/**
 * Parses a text exposition into samples, skipping comments and blank lines.
 * Only metrics whose name starts with one of `prefixes` are kept (all when
 * empty), so a page full of process metrics costs little.
 *
 * @throws {SyntaxError} naming the line that is not a sample.
 */
export function parsePrometheusText(text: string, prefixes: readonly string[] = []): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]?.trim() ?? "";
    if (line === "" || line.startsWith("#")) continue;
    const name = NAME.exec(line)?.[0];
    if (name === undefined) throw lineError(index, line, "a metric name");
    if (prefixes.length > 0 && !prefixes.some((prefix) => name.startsWith(prefix))) continue;
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) {
      const parsed = parseLabels(rest);
      if (!parsed) throw lineError(index, line, 'labels such as {type="x"}');
      labels = parsed.labels;
      rest = rest.slice(parsed.length);
    }
    const [valueText] = rest.trim().split(/\s+/);
    const value = parseValue(valueText ?? "");
    if (value === undefined) throw lineError(index, line, "a number after the labels");
    samples.push({ name, labels, value });
  }
  return samples;
}

/** Parses `{a="x",b="y\"z"}`; undefined when malformed. */
function parseLabels(text: string): { labels: Record<string, string>; length: number } | undefined {
  const labels: Record<string, string> = {};
  let at = 1;
  while (at < text.length) {
    while (text[at] === " " || text[at] === ",") at++;
    if (text[at] === "}") return { labels, length: at + 1 };
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(at))?.[0];
    if (!name || text[at + name.length] !== "=" || text[at + name.length + 1] !== '"') {
      return undefined;
    }
    at += name.length + 2;
    let value = "";
    for (; at < text.length && text[at] !== '"'; at++) {
      if (text[at] === "\\") {
        at++;
        value += text[at] === "n" ? "\n" : text[at] ?? "";
      } else {
        value += text[at];
      }
    }
    if (text[at] !== '"') return undefined;
    labels[name] = value;
    at++;
  }
  return undefined;
}

function parseValue(text: string): number | undefined {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function lineError(index: number, line: string, expected: string): SyntaxError {
  const shown = line.length > 80 ? `${line.slice(0, 79)}…` : line;
  return new SyntaxError(
    `Metrics line ${index + 1} is not a sample: expected ${expected}: ${shown}`,
  );
}
