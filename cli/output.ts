// Output for people (aligned tables) and for programs (--json, one document on stdout).

/** `text` cut to at most `max` characters, the last of them an ellipsis where it was cut. */
export const ellipsize = (text: string, max: number): string =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

/** An aligned text table; long cells are cut with an ellipsis at `maxWidth`. */
export function formatTable(rows: readonly Record<string, string>[], maxWidth = 48): string {
  const columns = Object.keys(rows[0] ?? {});
  const width = (c: string) => Math.min(maxWidth, Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const cut = (s: string, w: number) => ellipsize(s, w).padEnd(w);
  const line = (cells: string[]) => cells.join('  ').trimEnd();
  return [
    line(columns.map((c) => cut(c, width(c)))),
    line(columns.map((c) => '-'.repeat(width(c)))),
    ...rows.map((row) => line(columns.map((c) => cut(row[c] ?? '', width(c))))),
  ].join('\n');
}

export const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};
