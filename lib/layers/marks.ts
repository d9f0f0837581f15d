/** Writing and clearing whiteouts and opaque markers in the upper layer. */
import { io, lstatOrNull, unlinkIfPresent, type Io } from '../io';
import { whiteoutName, hasWhiteoutName, isKernelWhiteout, OPAQUE_MARKER } from './whiteout';
import { fsError } from '../errors';

/**
 * Record the deletion of `name` in an upper directory. A name of 252 to 255 bytes cannot be
 * recorded (`.wh.<name>` is over NAME_MAX): callers check with `requireWhiteoutName` first.
 */
export function* writeWhiteout(upperDir: string, name: string): Io<void> {
  requireWhiteoutName(name, 'unlink');
  yield* io.writeFile(upperDir + '/' + whiteoutName(name), '', { flag: 'w' });
}

/** After a new entry `name` has been put in an upper directory, drop the whiteout it replaced. */
export function* clearWhiteout(upperDir: string, name: string): Io<void> {
  if (!hasWhiteoutName(name)) return; // none can exist
  yield* unlinkIfPresent(upperDir + '/' + whiteoutName(name));
}

/**
 * Before creating `name` in an upper directory, remove a kernel-form whiteout (a 0:0 device)
 * sitting at that very name, which would otherwise block or be opened by the creation.
 */
export function* clearKernelWhiteout(upperDir: string, name: string): Io<boolean> {
  const st = yield* lstatOrNull(upperDir + '/' + name);
  if (st && isKernelWhiteout(st)) {
    yield* io.unlink(upperDir + '/' + name);
    return true;
  }
  return false;
}

/** True when the upper directory records a deletion of `name` (either form). */
export function* hasWhiteout(upperDir: string, name: string): Io<boolean> {
  if (hasWhiteoutName(name) && (yield* lstatOrNull(upperDir + '/' + whiteoutName(name))) !== null) return true;
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
