/** Quoting for the two languages a mount line is written in: mount options and the shell. */

/** A path inside `-o lowerdir=...,upperdir=...`: `:` separates lowers, `,` options; `\` escapes both. */
export function optionPath(p: string): string {
  return p.replace(/[\\:,]/g, (c) => '\\' + c);
}

/** A word for sh: left bare when it is plainly safe, otherwise single-quoted. */
export function shellWord(s: string): string {
  if (/^[A-Za-z0-9_\-./=:,@%+]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface KernelLayers {
  readonly upper: string | null;
  readonly lower: readonly string[];
  readonly workdir: string | null;
}

/** The `-o` value for `mount -t overlay` (also what fuse-overlayfs takes). */
export function overlayOptions(l: KernelLayers): string {
  const opts = [`lowerdir=${l.lower.map(optionPath).join(':')}`];
  if (l.upper) opts.push(`upperdir=${optionPath(l.upper)}`, `workdir=${optionPath(l.workdir!)}`);
  return opts.join(',');
}

export function mountCommand(l: KernelLayers, mountpoint: string): string[] {
  return ['mount', '-t', 'overlay', 'overlay', '-o', overlayOptions(l), mountpoint];
}
