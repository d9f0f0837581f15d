/**
 * Development aid, not used by default: with OVFS_SEM_KERNEL=1 the layers helper mounts a REAL
 * kernel overlay (root needed) and hands the tests an fs whose paths under the virtual
 * mountpoint are redirected to that mount. This checks the tests' merged-view expectations
 * against the kernel itself. Expected failures in that mode: every assertion on the upper's
 * on-disk format (the kernel writes 0:0 devices and xattrs, not `.wh.` files), lower layers
 * that use OCI whiteouts, `.wh.` reserved names, `which()`, and the documented deliberate
 * differences (directory rename, hidden stray whiteouts).
 */
import * as nodeFs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { execFileSync } from 'child_process';
import type { Overlay } from '../../lib/types';

export interface KernelMount {
  ov: Overlay;
  unmount(): void;
}

export function mountKernel(opts: {
  root: string;
  m: string;
  upper: string | null;
  lower: string[];
}): KernelMount {
  const km = path.join(opts.root, 'km');
  nodeFs.mkdirSync(km);
  const lower = [...opts.lower];
  if (!opts.upper && lower.length < 2) {
    const extra = path.join(opts.root, 'kempty');
    nodeFs.mkdirSync(extra);
    lower.push(extra);
  }
  let o = `lowerdir=${lower.join(':')}`;
  if (opts.upper) {
    const kw = path.join(opts.root, 'kw');
    nodeFs.mkdirSync(kw);
    o += `,upperdir=${opts.upper},workdir=${kw}`;
  }
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', o, km]);
  const m = opts.m;
  const toK = (p: unknown): unknown => {
    if (typeof p === 'string') {
      if (p === m || p.startsWith(m + '/')) return km + p.slice(m.length); // keeps '..' and trailing '/'
      const abs = path.resolve(p);
      if (abs === m || abs.startsWith(m + '/')) return km + abs.slice(m.length) + (p.endsWith('/') ? '/' : '');
      return p;
    }
    if (Buffer.isBuffer(p)) {
      const s = p.toString();
      const r = toK(s);
      return r === s ? p : Buffer.from(r as string);
    }
    if (p instanceof URL && p.protocol === 'file:') {
      const s = fileURLToPath(p);
      const r = toK(s);
      return r === s ? p : (r as string);
    }
    return p;
  };
  const fromK = (s: string) => s.split(km).join(m);
  const fixErr = (e: unknown) => {
    if (e && typeof e === 'object') {
      const err = e as { path?: unknown; dest?: unknown; message?: string };
      if (typeof err.path === 'string') err.path = fromK(err.path);
      if (typeof err.dest === 'string') err.dest = fromK(err.dest);
      if (typeof err.message === 'string') err.message = fromK(err.message);
    }
    return e;
  };
  const fixOut = (r: unknown): unknown => {
    if (typeof r === 'string') return fromK(r);
    if (r instanceof nodeFs.Dirent) {
      const d = r as nodeFs.Dirent & { path?: string };
      if (typeof d.parentPath === 'string') d.parentPath = fromK(d.parentPath);
      if (typeof d.path === 'string') d.path = fromK(d.path);
      return d;
    }
    if (Array.isArray(r)) return r.map(fixOut);
    return r;
  };
  const wrapFn = (name: string, f: (...a: unknown[]) => unknown) => {
    const w = function (this: unknown, ...args: unknown[]) {
      const mapped = args.map((a, i) => (name.startsWith('symlink') && i === 0 ? a : toK(a)));
      const last = mapped[mapped.length - 1];
      if (typeof last === 'function' && !name.endsWith('Sync')) {
        mapped[mapped.length - 1] = (err: unknown, ...res: unknown[]) =>
          (last as (...x: unknown[]) => void)(err ? fixErr(err) : err, ...res.map(fixOut));
      }
      try {
        const r = f.apply(this, mapped);
        if (r && typeof (r as Promise<unknown>).then === 'function') return (r as Promise<unknown>).then(fixOut, (e) => Promise.reject(fixErr(e)));
        return fixOut(r);
      } catch (e) {
        throw fixErr(e);
      }
    };
    return w;
  };
  const wrapObj = <T extends object>(obj: T): T => {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) {
      const v = (obj as Record<string, unknown>)[k];
      if (k === 'promises') continue;
      out[k] = typeof v === 'function' && /^[a-z]/.test(k) ? wrapFn(k, v as (...a: unknown[]) => unknown) : v;
    }
    return out as T;
  };
  const kfs = wrapObj(nodeFs) as typeof nodeFs & { promises: typeof nodeFs.promises };
  (kfs.realpathSync as unknown as { native: unknown }).native = wrapFn('realpathSync', nodeFs.realpathSync.native as never);
  (kfs.realpath as unknown as { native: unknown }).native = wrapFn('realpath', nodeFs.realpath.native as never);
  Object.defineProperty(kfs, 'promises', { value: wrapObj(nodeFs.promises), enumerable: true });
  // cast: the kernel stand-in provides only what the semantics tests use
  const ov = {
    mountpoint: m,
    upper: opts.upper,
    lower: opts.lower,
    workdir: null,
    fs: kfs,
    which: () => {
      throw new Error('which() is not available in kernel mode');
    },
  } as unknown as Overlay;
  return {
    ov,
    unmount: () => {
      try {
        execFileSync('umount', [km], { stdio: 'ignore' });
      } catch {
        // busy (a descriptor left open by a failed test): detach it lazily
        execFileSync('umount', ['-l', km], { stdio: 'ignore' });
      }
    },
  };
}
