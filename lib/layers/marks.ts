/** Writing and clearing whiteouts and opaque markers in the upper layer. */
import { io, lstatOrNull, unlinkIfPresent, type Io } from '../io';
import { whiteoutName, hasWhiteoutName, isKernelWhiteout, OPAQUE_MARKER } from './whiteout';
import { fsError } from '../errors';

/**
 * Record the deletion of `name` in an upper directory. Returns false when a whiteout entry
 * (of any type) was there already: nothing was written, so there is nothing to take back.
 * A name of 252 to 255 bytes cannot be recorded (`.wh.<name>` is over NAME_MAX): callers check
 * with `requireWhiteoutName` first.
 */
export function* writeWhiteout(upperDir: string, name: string): Io<boolean> {
  requireWhiteoutName(name, 'unlink');
  try {
    yield* io.writeFile(upperDir + '/' + whiteoutName(name), '', { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * After a new entry `name` has been put in an upper directory, drop the whiteout it replaced,
 * whatever its type (a `.wh.` directory is a whiteout too, and is removed with its contents).
 */
export function* clearWhiteout(upperDir: string, name: string): Io<void> {
  if (!hasWhiteoutName(name)) return; // none can exist
  const p = upperDir + '/' + whiteoutName(name);
  try {
    yield* unlinkIfPresent(p);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EISDIR') throw err;
    yield* io.rm(p, { recursive: true, force: true });
  }
}

/**
 * Before creating `name` in an upper directory, remove a kernel-form whiteout (a 0:0 device)
 * sitting at that very name, which would otherwise block or be opened by the creation. An OCI
 * whiteout takes its place first, so that the name stays hidden if the creation fails (the
 * caller clears it with clearWhiteout once the new entry is there).
 */
export function* clearKernelWhiteout(upperDir: string, name: string): Io<boolean> {
  const st = yield* lstatOrNull(upperDir + '/' + name);
  if (st && isKernelWhiteout(st)) {
    // A 252-255 byte name has no OCI form: the name is briefly uncovered if the creation fails.
    if (hasWhiteoutName(name)) yield* writeWhiteout(upperDir, name);
    yield* io.unlink(upperDir + '/' + name);
    return true;
  }
  return false;
}

/** True when directory `dir` holds an OCI whiteout `.wh.<name>` (of any type). */
export function* hasOciWhiteout(dir: string, name: string): Io<boolean> {
  return hasWhiteoutName(name) && (yield* lstatOrNull(dir + '/' + whiteoutName(name))) !== null;
}

/** True when the upper directory records a deletion of `name` (either form). */
export function* hasWhiteout(upperDir: string, name: string): Io<boolean> {
  if (yield* hasOciWhiteout(upperDir, name)) return true;
  const st = yield* lstatOrNull(upperDir + '/' + name);
  return st !== null && isKernelWhiteout(st);
}

export function* writeOpaqueMarker(dir: string): Io<void> {
  yield* io.writeFile(dir + '/' + OPAQUE_MARKER, '', { flag: 'w' });
}

/**
 * Throws ENAMETOOLONG when hiding `name` would need a whiteout `.wh.<name>` longer than
 * NAME_MAX (names of 252 to 255 bytes): the OCI format cannot record that deletion.
 */
export function requireWhiteoutName(name: string, syscall: string): void {
  if (!hasWhiteoutName(name)) {
    const err = fsError('ENAMETOOLONG', syscall);
    (err as { reason?: string }).reason = 'its whiteout .wh.<name> would be longer than 255 bytes';
    throw err;
  }
}
