/**
 * A progress bar (entries and bytes) on stderr for long copies. Only on a terminal, so logs
 * and pipes never fill with carriage returns, and only for trees big enough to take a moment,
 * so small commits do not flicker.
 */
const BIG_COUNT = 1000;
const BIG_BYTES = 64 * 1024 * 1024;
const EVERY_MS = 80;

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export class Progress {
  private count = 0;
  private bytes = 0;
  private last = 0;
  readonly enabled: boolean;

  constructor(private readonly stream: NodeJS.WriteStream, private readonly total: { count: number; bytes: number }, private readonly verb: string) {
    this.enabled = stream.isTTY === true && (total.count >= BIG_COUNT || total.bytes >= BIG_BYTES);
  }

  tick(bytes = 0): void {
    this.count++;
    this.bytes += bytes;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < EVERY_MS && this.count < this.total.count) return;
    this.last = now;
    this.draw();
  }

  private draw(): void {
    const cols = this.stream.columns || 80;
    const text = ` ${this.verb} ${this.count}/${this.total.count} entries, ${formatBytes(this.bytes)}/${formatBytes(this.total.bytes)}`;
    const width = Math.max(10, Math.min(40, cols - text.length - 3));
    const frac = this.total.count ? Math.min(1, this.count / this.total.count) : 1;
    const full = Math.round(frac * width);
    this.stream.write(`\r[${'#'.repeat(full)}${'-'.repeat(width - full)}]${text}\x1b[K`);
  }

  /** Erase the bar, leaving the line for the summary. */
  done(): void {
    if (!this.enabled) return;
    this.draw();
    this.stream.write('\r\x1b[K');
  }
}
