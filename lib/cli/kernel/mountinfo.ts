/** The kernel's mount table (/proc/self/mountinfo), to know what is mounted where. */
import * as fs from 'fs';

export interface MountEntry {
  readonly mountpoint: string;
  readonly fstype: string;
  readonly source: string;
  /** The file system's own options: for overlay, lowerdir=...,upperdir=...,workdir=... */
  readonly superOptions: string;
}

/** mountinfo writes space, tab, newline and backslash in paths as \ooo octal escapes. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function readMounts(): MountEntry[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    if (right === undefined) continue;
    const fields = left.split(' ');
    const [fstype, source, superOptions = ''] = right.split(' ');
    out.push({ mountpoint: unescape(fields[4]), fstype, source: unescape(source), superOptions });
  }
  return out;
}

/** The mount on top at `mountpoint` (the last one listed), if any. */
export function mountAt(mountpoint: string): MountEntry | undefined {
  const all = readMounts().filter((m) => m.mountpoint === mountpoint);
  return all[all.length - 1];
}
