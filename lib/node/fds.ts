/**
 * The descriptor table: which fds and FileHandles the overlay opened, and on what.
 * Metadata changes through a descriptor opened on a lower file (fchmod, fchown, futimes and
 * the FileHandle forms) must never reach the lower file: they copy up the merged path and
 * apply to the upper copy. Descriptors the overlay did not open pass through untouched.
 */
import type * as fs from 'fs';
import type { Stack } from '../layers/stack';

export interface OpenedFile {
  readonly stack: Stack;
  /** The merged path the descriptor was opened on (after symlinks). */
  readonly merged: string;
  /** True when the descriptor reads a lower layer's file. */
  readonly lower: boolean;
}

const byFd = new Map<number, OpenedFile>();

/** Hook for FileHandles opened on lower files (installed by the adapter). */
let adoptHandle: ((fh: fs.promises.FileHandle, file: OpenedFile) => void) | null = null;
export function onLowerHandle(fn: (fh: fs.promises.FileHandle, file: OpenedFile) => void): void {
  adoptHandle = fn;
}

export function remember(handle: number | fs.promises.FileHandle, file: OpenedFile): void {
  if (typeof handle === 'number') {
    byFd.set(handle, file);
    return;
  }
  byFd.set(handle.fd, file);
  const close = handle.close.bind(handle);
  const fd = handle.fd;
  (handle as { close: () => Promise<void> }).close = () => {
    if (byFd.get(fd) === file) byFd.delete(fd);
    return close();
  };
  if (file.lower && adoptHandle) adoptHandle(handle, file);
}

export function lookupFd(fd: unknown): OpenedFile | undefined {
  return typeof fd === 'number' ? byFd.get(fd) : undefined;
}

export function forgetFd(fd: unknown): void {
  if (typeof fd === 'number') byFd.delete(fd);
}
