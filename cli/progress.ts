// A byte progress bar for uploads on a terminal; nothing at all when the stream is not a terminal
// (pipes, CI logs, tests), so redirected output stays clean.
import { Presets, SingleBar } from 'cli-progress';

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
  const payload = (sent: number) => ({
    sent: formatBytes(sent),
    size: formatBytes(totalBytes),
    files: `${files} file(s)`,
  });
  bar.start(Math.max(totalBytes, 1), 0, payload(0));
  return {
    update(file, bytes) {
      loaded.set(file, bytes);
      const sent = [...loaded.values()].reduce((a, b) => a + b, 0);
      bar.update(sent, payload(sent));
    },
    stop: () => bar.stop(),
  };
}
