// Progress on a terminal, and nothing at all when the stream is not one (pipes, CI logs, tests, --json),
// so redirected output stays clean: a byte bar for uploads (cli-progress), and a status line for work
// whose total is not known in advance (tap reconcile streams the listing), redrawn at most 5 times a second.
import { Presets, SingleBar } from 'cli-progress';
import { ellipsize } from './output';

export interface Progress {
  /** `loaded` bytes of `file` are sent so far. */
  update(file: string, loaded: number): void;
  stop(): void;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function byteProgress(totalBytes: number, files: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { stream, format: '  {bar} {percentage}% | {sent} of {size} | {files} | {eta_formatted} left', hideCursor: true },
    Presets.shades_classic,
  );
  const loaded = new Map<string, number>();
  let sentSoFar = 0;
  const payload = (sent: number) => ({
    sent: formatBytes(sent),
    size: formatBytes(totalBytes),
    files: `${files} file(s)`,
  });
  bar.start(Math.max(totalBytes, 1), 0, payload(0));
  return {
    update(file, bytes) {
      sentSoFar += bytes - (loaded.get(file) ?? 0);
      loaded.set(file, bytes);
      bar.update(sentSoFar, payload(sentSoFar));
    },
    stop: () => bar.stop(),
  };
}

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
      stream.write(`\r\x1b[2K${ellipsize(text, width)}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
