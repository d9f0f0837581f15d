/**
 * What `overlay-fs mount` did, kept until `overlay-fs umount` undoes it: which engine, which
 * layers (fuse-overlayfs does not show them in the mount table), and what it created. Kept in
 * /run (a tmpfs) or $XDG_RUNTIME_DIR, which, like mounts, do not survive a reboot.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export type Engine = 'kernel' | 'fuse-overlayfs';

export interface MountRecord {
  readonly engine: Engine;
  readonly mountpoint: string;
  readonly upper: string | null;
  readonly lower: readonly string[];
  readonly workdir: string | null;
  /** We made the mountpoint directory, so umount removes it again. */
  readonly createdMountpoint: boolean;
  /** Names in the work directory before mounting; the engine's own additions are removed after. */
  readonly workBefore: readonly string[];
}

function stateDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (process.env.XDG_RUNTIME_DIR) return path.join(process.env.XDG_RUNTIME_DIR, 'overlay-fs');
  if (uid === 0 && fs.existsSync('/run')) return '/run/overlay-fs';
  return path.join(os.tmpdir(), `overlay-fs-${uid}`);
}

function recordFile(mountpoint: string): string {
  return path.join(stateDir(), crypto.createHash('sha256').update(mountpoint).digest('hex').slice(0, 24) + '.json');
}

export function saveRecord(r: MountRecord): void {
  fs.mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
  fs.writeFileSync(recordFile(r.mountpoint), JSON.stringify(r, null, 2) + '\n');
}

export function loadRecord(mountpoint: string): MountRecord | null {
  try {
    return JSON.parse(fs.readFileSync(recordFile(mountpoint), 'utf8')) as MountRecord;
  } catch {
    return null;
  }
}

export function dropRecord(mountpoint: string): void {
  fs.rmSync(recordFile(mountpoint), { force: true });
}
