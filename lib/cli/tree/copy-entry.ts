/** Copying one real entry with the metadata a layer keeps (mode, times, owner where allowed). */
import * as fs from 'fs';

const isRoot = (): boolean => process.geteuid?.() === 0;

/** Mode, owner and times of `st` onto `dest` (after its contents: writing would bump mtime). */
export function applyMeta(dest: string, st: fs.Stats): void {
  if (st.isSymbolicLink()) {
    if (isRoot()) fs.lchownSync(dest, st.uid, st.gid);
    fs.lutimesSync(dest, st.atimeMs / 1000, st.mtimeMs / 1000);
    return;
  }
  // Owner before mode: chown clears setuid/setgid bits.
  if (isRoot()) fs.chownSync(dest, st.uid, st.gid);
  fs.chmodSync(dest, st.mode & 0o7777);
  // Seconds as a float keep sub-millisecond precision that Date objects would drop.
  fs.utimesSync(dest, st.atimeMs / 1000, st.mtimeMs / 1000);
}

/**
 * Copy a regular file or a symlink. Returns false for what Node cannot create (FIFOs, sockets,
 * device files), which the caller reports.
 */
export function copyEntry(src: string, dest: string, st: fs.Stats = fs.lstatSync(src)): boolean {
  if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dest);
  else if (st.isFile()) fs.copyFileSync(src, dest, fs.constants.COPYFILE_EXCL);
  else return false;
  applyMeta(dest, st);
  return true;
}
