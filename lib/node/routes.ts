/**
 * The routing table: every path-taking function of Node's fs, which arguments are paths, and
 * the one operation that serves it. `api.ts` turns each row into its sync, callback and
 * promise forms. A test checks this table against the installed Node's fs.
 */
import * as read from '../ops/read';
import * as names from '../ops/names';
import * as meta from '../ops/meta';
import * as copy from '../ops/copy';
import * as cpOps from '../ops/cp';
import * as opening from '../ops/open';
import type { Io } from '../io';

export interface Route {
  /** The callback/promise name; the sync form is name + 'Sync'. */
  readonly name: string;
  /** Positions of the path arguments. */
  readonly paths: readonly number[];
  readonly op: (...args: any[]) => Io<unknown>;
  /** Which forms exist in Node (default: all three). */
  readonly forms?: { sync?: boolean; callback?: boolean; promise?: boolean };
  /**
   * How errors show the paths when Node does not show the path(s) as given: symlink shows
   * the target first; JS realpath absolute paths; opendirSync no path at all.
   */
  readonly shows?: 'symlink' | 'absolute' | 'no-path-when-sync' | 'own';
  /**
   * Run first, synchronously in every form (Node checks these arguments before anything
   * else, and its callback form throws): validates the arguments and returns those the
   * operation runs with. Errors named by the operation itself: `shows: 'own'`.
   */
  readonly pre?: (args: unknown[]) => unknown[];
  /** The sync form's fast path for remembered reads (lib/ops/read.ts `*Quick`). */
  readonly quick?: read.Quick;
  /** The promise form's fast path (lib/ops/read.ts `*QuickAsync`). */
  readonly quickAsync?: read.QuickAsync;
}

export const ROUTES: readonly Route[] = [
  { name: 'access', paths: [0], op: read.access, quick: read.accessQuick },
  { name: 'appendFile', paths: [0], op: opening.appendFile },
  { name: 'chmod', paths: [0], op: meta.chmod },
  { name: 'chown', paths: [0], op: meta.chown },
  { name: 'copyFile', paths: [0, 1], op: copy.copyFile },
  { name: 'cp', paths: [0, 1], op: cpOps.cp, pre: cpOps.validateCp, shows: 'own' },
  { name: 'lchown', paths: [0], op: meta.lchown },
  { name: 'link', paths: [0, 1], op: names.link },
  { name: 'lstat', paths: [0], op: read.lstat, quick: read.lstatQuick, quickAsync: read.lstatQuickAsync },
  { name: 'lutimes', paths: [0], op: meta.lutimes },
  { name: 'mkdir', paths: [0], op: names.mkdir },
  { name: 'mkdtemp', paths: [0], op: names.mkdtemp },
  { name: 'open', paths: [0], op: opening.open },
  { name: 'opendir', paths: [0], op: read.opendir, shows: 'no-path-when-sync' },
  { name: 'readdir', paths: [0], op: read.readdir },
  { name: 'readFile', paths: [0], op: read.readFile, quick: read.readFileQuick, quickAsync: read.readFileQuickAsync },
  { name: 'readlink', paths: [0], op: read.readlink },
  { name: 'rename', paths: [0, 1], op: names.rename },
  { name: 'rm', paths: [0], op: names.rm },
  { name: 'rmdir', paths: [0], op: names.rmdir },
  { name: 'stat', paths: [0], op: read.stat, quick: read.statQuick, quickAsync: read.statQuickAsync },
  { name: 'statfs', paths: [0], op: read.statfs },
  { name: 'symlink', paths: [1], op: names.symlink, shows: 'symlink' },
  { name: 'truncate', paths: [0], op: opening.truncate },
  { name: 'unlink', paths: [0], op: names.unlink },
  { name: 'utimes', paths: [0], op: meta.utimes },
  { name: 'writeFile', paths: [0], op: opening.writeFile },
];

/** Descriptor functions that the overlay must intercept for descriptors it opened on lower files. */
export const FD_ROUTES = [
  { name: 'fchmod', op: meta.fchmod },
  { name: 'fchown', op: meta.fchown },
  { name: 'futimes', op: meta.futimes },
] as const;

/**
 * Path-taking functions served by hand-written code in api.ts (their shapes differ from the
 * callback/sync/promise pattern): exists, realpath (+ .native), createReadStream,
 * createWriteStream, watch, watchFile, unwatchFile, openAsBlob; and on fs.promises: realpath,
 * watch, lchmod (which Node does not implement on Linux).
 */
export const SPECIAL_PATH_FUNCTIONS = [
  'exists', 'existsSync', 'realpath', 'realpathSync', 'createReadStream', 'createWriteStream',
  'watch', 'watchFile', 'unwatchFile', 'openAsBlob',
] as const;
export const SPECIAL_PROMISE_FUNCTIONS = ['realpath', 'watch', 'lchmod'] as const;
