/**
 * The Node-facing shape: builds an object with Node's fs API from the routing table.
 * For each call: one cheap check "does any path argument lie under a mount?"; if not, the
 * original function gets the caller's untouched arguments. Otherwise the operation runs in
 * the form asked for, and errors are re-expressed with the caller's merged paths.
 */
import * as util from 'util';
import * as path from 'path';
import type * as fsTypes from 'fs';
import { original, originalPromises } from '../real-fs';
import { parsePath, parseInvalidUtf8, isNormalAbsolute, pathTooLong } from '../paths';
import type { MountTable } from '../router/dots';
import { runSync, runAsync, type Io } from '../io';
import { withPaths } from '../errors';
import { PASS_TO_NODE } from '../ops/flags';
import type { Stack } from '../layers/stack';
import type { Target } from '../ops/target';
import { ROUTES, FD_ROUTES, type Route } from './routes';
import * as read from '../ops/read';
import { lookupFd, forgetFd, onLowerHandle } from './fds';
import { watch as watchMerged } from '../watch/fs-watch';
import { watchAsync as watchMergedAsync } from '../watch/promises';
import { watchFile as watchFileMerged, unwatchFile as unwatchFileMerged } from '../watch/stat-poll';
import * as meta from '../ops/meta';

export type { MountTable } from '../router/dots';

type AnyFn = (...args: any[]) => any;

/** Paths shorter than this (UTF-16 units) are shorter than PATH_MAX bytes whatever they hold. */
const LONGEST_SHORT_PATH = 1366;

/** The fast path's answer for a plain absolute path under no mount (see `fastRoute`). */
const OUTSIDE: unique symbol = Symbol('outside');

function named<T extends AnyFn>(name: string, fn: T): T {
  Object.defineProperty(fn, 'name', { value: name });
  return fn;
}

export function buildFs(table: MountTable): typeof fsTypes {
  /** Targets for the path arguments, or null when none lies under a mount (pass through). */
  function targetsOf(args: unknown[], positions: readonly number[]): Target[] | null {
    let inside = false;
    const targets: Target[] = [];
    for (const i of positions) {
      // A Buffer that is not UTF-8 cannot name a merged entry: under a mount it fails EILSEQ
      // (it must not reach Node's fs, which would act on the real directory there).
      const parsed = parsePath(args[i]) ?? parseInvalidUtf8(args[i]);
      if (!parsed) return null;
      const stack = table.find(parsed.abs);
      if (stack || leavesAMount(parsed.shown)) inside = true;
      // Spelled out: an object spread here costs more than a whole indexed lookup.
      targets.push({ abs: parsed.abs, shown: parsed.shown, slash: parsed.slash, dots: parsed.dots, walk: parsed.walk, fail: parsed.fail, stack, mounts: table });
    }
    return inside ? targets : null;
  }

  /**
   * "m/d/../../x" walks through the mount and out again: the kernel could not walk a virtual
   * mountpoint, so such a path is served by the overlay (as the outside path it leads to).
   */
  function leavesAMount(shown: string): boolean {
    if (!shown.includes('..')) return false;
    const parts = (path.isAbsolute(shown) ? shown : process.cwd() + '/' + shown).split('/');
    const walked: string[] = [];
    for (const part of parts) {
      if (part === '..') {
        if (table.find('/' + walked.join('/'))) return true;
        walked.pop();
      } else if (part !== '' && part !== '.') walked.push(part);
    }
    return false;
  }

  /**
   * Where the fast path sends a string path: the overlay to try its remembered answer in (under
   * a mount, shorter than PATH_MAX; a path not in normal form is never remembered, so it falls
   * through), OUTSIDE (a plain absolute path under no mount: Node's own function, with the
   * caller's arguments untouched), or null (the full operation decides).
   */
  function fastRoute(p: string): Stack | typeof OUTSIDE | null {
    const stack = table.find(p);
    if (stack !== null) return p.length < LONGEST_SHORT_PATH || !pathTooLong(p) ? stack : null;
    return isNormalAbsolute(p) && !pathTooLong(p) ? OUTSIDE : null;
  }

  function withTargets(args: unknown[], positions: readonly number[], targets: Target[]): unknown[] {
    const out = args.slice();
    positions.forEach((p, i) => { out[p] = targets[i]; });
    return out;
  }

  function present(err: unknown, route: Pick<Route, 'shows'>, args: unknown[], targets: Target[], form: 'sync' | 'async'): unknown {
    if (route.shows === 'own') return err; // the operation named its paths itself (cp)
    if (route.shows === 'symlink') return withPaths(err, String(args[0]), targets[0].shown);
    // Node's JavaScript realpath names absolute paths (the prefix that failed, pinned by the op).
    if (route.shows === 'absolute') return withPaths(err, targets[0].abs, undefined);
    // Node's opendirSync throws without a path; its other forms name it.
    if (route.shows === 'no-path-when-sync' && form === 'sync') return withPaths(err, null, undefined);
    return withPaths(err, targets[0]?.shown, targets[1]?.shown);
  }

  /** The three forms of one operation. */
  function forms(route: Route, op: (...a: any[]) => Io<unknown>) {
    const { name, paths, pre } = route;
    const origSync = original[name + 'Sync'] as AnyFn;
    const origCallback = original[name] as AnyFn;
    const origPromise = originalPromises[name] as AnyFn;
    const quick = route.quick;
    const full = named(name + 'Sync', function (this: unknown, ...args: unknown[]) {
      const targets = targetsOf(args, paths);
      if (!targets) return origSync.apply(this, args);
      try {
        return runSync(op(...withTargets(pre ? pre(args) : args, paths, targets)));
      } catch (err) {
        if (err === PASS_TO_NODE) return origSync.apply(this, args);
        throw present(err, route, args, targets, 'sync');
      }
    });
    // The fast path for remembered reads: named parameters (no array per call).
    const sync = quick === undefined ? full : named(name + 'Sync', function (this: unknown, p: unknown, o?: unknown) {
      if (typeof p === 'string' && arguments.length <= 2) {
        const to = fastRoute(p);
        if (to === OUTSIDE) return origSync.apply(this, arguments as unknown as unknown[]);
        if (to !== null) {
          const r = quick(to, p, o);
          if (r !== read.SLOW) return r;
        }
      }
      return full.apply(this, arguments as unknown as unknown[]);
    });
    const callback = named(name, function (this: unknown, ...args: unknown[]) {
      const cb = args[args.length - 1];
      const rest = args.slice(0, -1);
      const targets = typeof cb === 'function' ? targetsOf(rest, paths) : null;
      if (!targets) return origCallback.apply(this, args);
      const opArgs = pre ? pre(rest) : rest; // throws, as Node's callback form does
      runAsync(op(...withTargets(opArgs, paths, targets))).then(
        (value) => (cb as AnyFn)(null, value),
        (err) => (err === PASS_TO_NODE ? origCallback.apply(this, args) : (cb as AnyFn)(present(err, route, args, targets, 'async'))),
      );
    });
    const quickAsync = route.quickAsync;
    const promise = origPromise && named(name, async function (this: unknown, ...args: unknown[]) {
      const p = args[0];
      if (quickAsync !== undefined && args.length <= 2 && typeof p === 'string') {
        const to = fastRoute(p);
        if (to === OUTSIDE) return origPromise.apply(this, args);
        if (to !== null) {
          const r = quickAsync(to, p, args[1]);
          if (r !== read.SLOW) {
            try {
              return await r;
            } catch {
              // The full operation below makes the call again and reports what it finds.
            }
          }
        }
      }
      const targets = targetsOf(args, paths);
      if (!targets) return origPromise.apply(this, args);
      const opArgs = pre ? pre(args) : args;
      try {
        return await runAsync(op(...withTargets(opArgs, paths, targets)), { handles: name === 'open' });
      } catch (err) {
        if (err === PASS_TO_NODE) return origPromise.apply(this, args);
        throw present(err, route, args, targets, 'async');
      }
    });
    return { sync, callback, promise };
  }

  const api: Record<string, any> = {};
  for (const key of Object.getOwnPropertyNames(original)) {
    Object.defineProperty(api, key, Object.getOwnPropertyDescriptor(original, key)!);
  }
  const promises: Record<string, any> = { ...originalPromises };

  for (const route of ROUTES) {
    const f = forms(route, route.op);
    api[route.name + 'Sync'] = f.sync;
    api[route.name] = f.callback;
    if (f.promise) promises[route.name] = f.promise;
  }

  // realpath: the JS forms report the absolute path in errors (Node's JS algorithm does), the
  // native and promise forms the path as given; all return merged paths.
  // The JS forms follow Node's JavaScript algorithm (and its error reports) over the merged view.
  const rpJs = forms({ name: 'realpath', paths: [0], op: read.realpathJs, shows: 'absolute' }, read.realpathJs);
  const rpNative = forms({ name: 'realpath', paths: [0], op: read.realpath }, (t: Target, o: unknown) => read.realpath(t, o, 'realpath'));
  const nativeSync = named('native', function (this: unknown, ...args: unknown[]) {
    return targetsOf(args, [0]) ? rpNative.sync.apply(this, args) : (original.realpathSync as any).native.apply(this, args);
  });
  const nativeCallback = named('native', function (this: unknown, ...args: unknown[]) {
    const cb = args[args.length - 1];
    if (typeof cb !== 'function' || !targetsOf(args.slice(0, -1), [0])) return (original.realpath as any).native.apply(this, args);
    return rpNative.callback.apply(this, args);
  });
  api.realpathSync = Object.assign(rpJs.sync, { native: nativeSync });
  api.realpath = Object.assign(rpJs.callback, { native: nativeCallback });
  promises.realpath = rpNative.promise;

  // exists: never throws; the callback gets a boolean only.
  api.existsSync = named('existsSync', function (this: unknown, ...args: unknown[]) {
    const p = args[0];
    if (typeof p === 'string') {
      const to = fastRoute(p);
      if (to === OUTSIDE) return original.existsSync.apply(this, args as [fsTypes.PathLike]);
      if (to !== null) {
        const r = read.existsQuick(to, p);
        if (r !== read.SLOW) return r;
      }
    }
    const targets = targetsOf(args, [0]);
    if (!targets) return original.existsSync.apply(this, args as [fsTypes.PathLike]);
    try { return runSync(read.exists(targets[0])); } catch { return false; }
  });
  const existsAsync = (p: unknown): Promise<boolean> => {
    const targets = targetsOf([p], [0]);
    if (!targets) return new Promise((r) => original.exists(p as fsTypes.PathLike, r));
    return runAsync(read.exists(targets[0])).catch(() => false);
  };
  api.exists = named('exists', function (p: unknown, cb: (b: boolean) => void) {
    if (typeof cb !== 'function') return (original.exists as AnyFn)(p, cb);
    existsAsync(p).then(cb);
  });
  Object.defineProperty(api.exists, util.promisify.custom, { value: existsAsync });

  // Descriptor functions: only descriptors the overlay opened on lower files are intercepted.
  for (const { name, op } of FD_ROUTES) {
    const lowerFd = (args: unknown[]) => lookupFd(args[0])?.lower === true;
    api[name + 'Sync'] = named(name + 'Sync', function (this: unknown, ...args: unknown[]) {
      if (!lowerFd(args)) return (original[name + 'Sync'] as AnyFn).apply(this, args);
      return runSync((op as AnyFn)(...args));
    });
    api[name] = named(name, function (this: unknown, ...args: unknown[]) {
      const cb = args[args.length - 1];
      if (typeof cb !== 'function' || !lowerFd(args)) return (original[name] as AnyFn).apply(this, args);
      runAsync((op as AnyFn)(...args.slice(0, -1))).then(() => (cb as AnyFn)(null), (e) => (cb as AnyFn)(e));
    });
  }
  api.closeSync = named('closeSync', function (this: unknown, fd: number) {
    const result = original.closeSync(fd);
    forgetFd(fd);
    return result;
  });
  api.close = named('close', function (this: unknown, fd: number, cb?: AnyFn) {
    forgetFd(fd);
    return (original.close as AnyFn).call(this, fd, cb);
  });

  // FileHandles opened on lower files: chmod/chown/utimes copy up instead of touching the lower.
  onLowerHandle((fh) => {
    const fd = fh.fd;
    (fh as any).chmod = (mode: fsTypes.Mode) => runAsync(meta.fchmod(fd, mode));
    (fh as any).chown = (uid: number, gid: number) => runAsync(meta.fchown(fd, uid, gid));
    (fh as any).utimes = (a: fsTypes.TimeLike, m: fsTypes.TimeLike) => runAsync(meta.futimes(fd, a, m));
  });

  // Streams: Node's own stream classes, opening through the merged view; `.path` stays merged.
  const streamFs = { open: api.open, close: api.close, read: original.read, write: original.write, writev: original.writev };
  api.createReadStream = named('createReadStream', function (p: unknown, options?: unknown) {
    const opts = typeof options === 'string' ? { encoding: options } : (options as Record<string, unknown> | undefined);
    if (opts?.fs || opts?.fd !== undefined || !targetsOf([p], [0])) return original.createReadStream(p as string, options as any);
    return new (original.ReadStream as any)(p, { ...opts, fs: streamFs });
  });
  api.createWriteStream = named('createWriteStream', function (p: unknown, options?: unknown) {
    const opts = typeof options === 'string' ? { encoding: options } : (options as Record<string, unknown> | undefined);
    if (opts?.fs || opts?.fd !== undefined || !targetsOf([p], [0])) return original.createWriteStream(p as string, options as any);
    return new (original.WriteStream as any)(p, { ...opts, fs: streamFs });
  });

  api.openAsBlob = named('openAsBlob', function (p: unknown, options?: unknown) {
    const targets = targetsOf([p], [0]);
    if (!targets) return (original as any).openAsBlob(p, options);
    try {
      return runSync(read.openAsBlob(targets[0], options));
    } catch (err) {
      return Promise.reject(withPaths(err, targets[0].shown, undefined));
    }
  });

  // watch, watchFile: the merged view over every layer (lib/watch).
  api.watch = named('watch', function (p: unknown, options?: unknown, listener?: unknown) {
    const targets = targetsOf([p], [0]);
    if (!targets) return (original.watch as AnyFn)(p, options, listener);
    return watchMerged(targets[0], options, listener);
  });
  promises.watch = named('watch', function (p: unknown, options?: unknown) {
    const targets = targetsOf([p], [0]);
    if (!targets) return (originalPromises.watch as AnyFn)(p, options);
    return watchMergedAsync(targets[0], options);
  });
  api.watchFile = named('watchFile', function (p: unknown, options: unknown, listener?: unknown) {
    const targets = targetsOf([p], [0]);
    if (!targets) return (original.watchFile as AnyFn)(p, options, listener);
    return watchFileMerged(targets[0], options, listener);
  });
  api.unwatchFile = named('unwatchFile', function (p: unknown, listener?: unknown) {
    const targets = targetsOf([p], [0]);
    if (!targets) return (original.unwatchFile as AnyFn)(p, listener);
    unwatchFileMerged(targets[0], listener);
  });

  Object.defineProperty(api, 'promises', { value: promises, enumerable: true, configurable: true, writable: false });
  return api as typeof fsTypes;
}

