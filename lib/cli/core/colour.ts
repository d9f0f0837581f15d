/**
 * Colour for one output stream: only when that stream is a terminal, and never when NO_COLOR
 * is set to a non-empty value (https://no-color.org) or TERM is "dumb". Decided per stream, so
 * `overlay-fs diff | less` is plain while errors on the terminal stay red.
 */
export interface Paint {
  readonly enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  cyan(s: string): string;
}

export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

export function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Paint {
  const enabled = colourEnabled(stream, env);
  const sgr = (open: string, close: string) => (s: string) => (enabled && s !== '' ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return {
    enabled,
    bold: sgr('1', '22'),
    dim: sgr('2', '22'),
    red: sgr('31', '39'),
    green: sgr('32', '39'),
    yellow: sgr('33', '39'),
    blue: sgr('34', '39'),
    cyan: sgr('36', '39'),
  };
}

/** Width of a string on the terminal, ignoring colour sequences (all our glyphs are one cell). */
export function visibleLength(s: string): number {
  return [...s.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

export function padEnd(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - visibleLength(s)));
}
