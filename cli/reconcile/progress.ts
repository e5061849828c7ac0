// One status line on a terminal's stderr, redrawn at most five times a second; nothing at all when
// stderr is not a terminal (a pipe, a file, CI), so --json and logs stay clean.

export interface StatusLine {
  update(text: string): void;
  done(): void;
}

export function statusLine(stream: NodeJS.WriteStream = process.stderr, now = () => Date.now()): StatusLine {
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  let drawnAt = 0;
  let drawn = false;
  return {
    update(text) {
      if (now() - drawnAt < 200) return;
      drawnAt = now();
      const width = stream.columns ? stream.columns - 1 : 120;
      stream.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
