/**
 * open and everything that opens: the decision of which real file a merged open reaches.
 * Opening for writing (or with O_TRUNC) copies up first, even if nothing is written;
 * O_CREAT of a missing name creates it in the upper, over any whiteout.
 */
import * as fs from 'fs';
import { io, type Io } from '../io';
import { fsError } from '../errors';
import { locate, locateParent, requireUpper, dotsDirectory, type Target } from './target';
import { copyUp, copyUpParents, copyUpChanged } from '../copyup';
import { clearWhiteout, clearKernelWhiteout } from '../layers/marks';
import { isReserved } from '../layers/whiteout';
import { toFlags, writesData, O_ACCMODE } from './flags';
import { remember, type OpenedFile } from '../node/fds';

const { O_CREAT, O_EXCL, O_DIRECTORY, O_TRUNC, O_NOFOLLOW, O_RDONLY } = fs.constants;

export interface PreparedOpen {
  /** The real file to open, and the flags to open it with. */
  readonly real: string;
  readonly flags: number;
  /** What the descriptor table needs to know. */
  readonly file: OpenedFile | null;
  /** Run after the real open succeeded (drops a whiteout the new file replaced). */
  finish(): Io<void>;
  /** The change was made already, on the copy-up (see Staged): nothing left to do. */
  readonly staged?: boolean;
}

/**
 * A change to apply while copying a lower file up (writeFile, appendFile, truncate): made on
 * the copy in the work directory, which then replaces the lower file in one rename.
 */
export interface Staged {
  /** Whether the copy needs the old data (not when the change truncates it to nothing). */
  readonly withData: boolean;
  apply(tmp: string, flags: number): Io<void>;
}

function* nothing(): Io<void> { /* no follow-up */ }

export function* prepareOpen(t: Target, flags: number, staged?: Staged): Io<PreparedOpen> {
  const creating = (flags & O_CREAT) !== 0;
  const exclusive = creating && (flags & O_EXCL) !== 0;
  if (creating && t.dots) {
    // "x/." and "x/..": the walk decides (ENOENT, ENOTDIR); then x is an existing directory.
    yield* dotsDirectory(t, 'open');
    throw fsError(exclusive ? 'EEXIST' : 'EISDIR', 'open');
  }
  if (creating && t.slash) {
    // open(2) with O_CREAT refuses a trailing slash (EISDIR) once the parent is found.
    yield* locateParent(t, 'open');
    throw fsError('EISDIR', 'open');
  }
  const res = yield* locate(t, !exclusive && (flags & O_NOFOLLOW) === 0, 'open');
  if (res.kind === 'external') return { real: res.real, flags, file: null, finish: nothing };
  const found = res.found;
  if (found) {
    if (exclusive) throw fsError('EEXIST', 'open');
    if (found.kind === 'symlink') throw fsError('ELOOP', 'open'); // O_NOFOLLOW on a link
    if (found.kind === 'dir') {
      if (creating && (flags & O_DIRECTORY) !== 0) throw fsError('EINVAL', 'open');
      if ((flags & O_ACCMODE) !== O_RDONLY || creating || (flags & O_TRUNC) !== 0) throw fsError('EISDIR', 'open');
      return { real: found.real, flags, file: { stack: res.stack, merged: res.merged, lower: found.layer.role === 'lower' }, finish: nothing };
    }
    if ((flags & O_DIRECTORY) !== 0) throw fsError('ENOTDIR', 'open');
    const special = found.kind !== 'file';
    if (writesData(flags) && !special) {
      requireUpper(res, 'open');
      if (staged && found.kind === 'file' && found.layer.role === 'lower') {
        const f = flags & ~(O_CREAT | O_EXCL);
        if (yield* copyUpChanged(res, staged.withData && (flags & O_TRUNC) === 0, (tmp) => staged.apply(tmp, f))) {
          return { real: '', flags: f, file: null, finish: nothing, staged: true };
        }
      }
      const real = yield* copyUp(res);
      return { real, flags: flags & ~O_CREAT, file: { stack: res.stack, merged: res.merged, lower: false }, finish: nothing };
    }
    // Read-only opens (also O_CREAT of an existing file, and FIFOs/devices) never copy up.
    return { real: found.real, flags: flags & ~O_CREAT, file: { stack: res.stack, merged: res.merged, lower: found.layer.role === 'lower' }, finish: nothing };
  }
  if (!creating) throw fsError('ENOENT', 'open');
  if (res.parent === null) throw fsError('EISDIR', 'open');
  if (isReserved(res.name)) throw reservedName('open');
  requireUpper(res, 'open');
  const dir = yield* copyUpParents(res);
  yield* clearKernelWhiteout(dir, res.name);
  return {
    real: dir + '/' + res.name,
    flags,
    file: { stack: res.stack, merged: res.merged, lower: false },
    finish: () => clearWhiteout(dir, res.name),
  };
}

/** Creating a `.wh.*` name is refused: those names are the overlay's on-disk format. */
export function reservedName(syscall: string) {
  const err = fsError('EINVAL', syscall);
  (err as { reason?: string }).reason = 'names starting with ".wh." are reserved by overlay-fs for whiteouts';
  return err;
}

export function* open(t: Target, flags?: unknown, mode?: fs.Mode | null): Io<number | fs.promises.FileHandle> {
  const numeric = toFlags(flags, 'r');
  const opened = yield* prepareOpen(t, numeric);
  const handle = yield* io.open(opened.real, opened.flags, mode ?? 0o666);
  yield* opened.finish();
  if (opened.file) remember(handle, opened.file);
  return handle;
}

export function* writeFile(t: Target, data: unknown, options?: unknown, fallbackFlag = 'w'): Io<void> {
  const opts = (typeof options === 'string' ? { encoding: options } : options ?? {}) as { flag?: unknown; mode?: number };
  // A lower file is copied up with the data already written (see Staged).
  const write = (real: string, flags: number) => io.writeFile(real, data, Object.assign({}, opts, { flag: flags })); // not a spread: see readFile
  const opened = yield* prepareOpen(t, toFlags(opts.flag, fallbackFlag), { withData: true, apply: write });
  if (opened.staged) return;
  yield* write(opened.real, opened.flags);
  yield* opened.finish();
}

export function* appendFile(t: Target, data: unknown, options?: unknown): Io<void> {
  yield* writeFile(t, data, options, 'a');
}

export function* truncate(t: Target, len?: number | null): Io<void> {
  // Node's truncate opens the file 'r+' and truncates it; so do we, through the merged view.
  const length = len ?? 0;
  const opened = yield* prepareOpen(t, fs.constants.O_RDWR, { withData: length > 0, apply: (tmp) => io.truncate(tmp, length) });
  if (opened.staged) return;
  yield* io.truncate(opened.real, length);
}
