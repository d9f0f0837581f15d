/**
 * Choosing how to mount: the kernel's overlayfs needs root (CAP_SYS_ADMIN); fuse-overlayfs
 * works without root where /dev/fuse is usable and reads OCI whiteouts natively.
 */
import * as fs from 'fs';
import { onPath } from './tools';
import { CliError, usageError } from '../core/errors';
import type { Engine } from './records';

const FUSE_HINT = 'Debian/Ubuntu: apt-get install fuse-overlayfs';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function fuseAvailable(): boolean {
  return onPath('fuse-overlayfs') !== null && fs.existsSync('/dev/fuse');
}

export function chooseEngine(requested: string | undefined): Engine {
  if (process.platform !== 'linux') throw new CliError(`mounting needs Linux (overlayfs or fuse-overlayfs); this is ${process.platform}`);
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  switch (requested ?? 'auto') {
    case 'kernel':
      if (!isRoot()) throw new CliError(`the kernel's overlayfs needs root, and this runs as uid ${uid}`);
      return 'kernel';
    case 'fuse-overlayfs':
      if (!onPath('fuse-overlayfs')) throw new CliError(`fuse-overlayfs is not installed (${FUSE_HINT})`);
      if (!fs.existsSync('/dev/fuse')) throw new CliError('fuse-overlayfs needs /dev/fuse, which this system does not have');
      return 'fuse-overlayfs';
    case 'auto':
      if (isRoot()) return 'kernel';
      if (fuseAvailable()) return 'fuse-overlayfs';
      throw new CliError(`cannot mount: the kernel's overlayfs needs root (this runs as uid ${uid}) and fuse-overlayfs is not installed (${FUSE_HINT})`);
    default:
      throw usageError(`--engine takes auto, kernel or fuse-overlayfs, not ${JSON.stringify(requested)}`);
  }
}
