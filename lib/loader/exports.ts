/**
 * Package "exports" and "imports" maps, resolved as Node's ESM resolver resolves them
 * (PACKAGE_EXPORTS_RESOLVE / PACKAGE_IMPORTS_RESOLVE in Node's module docs): subpath keys,
 * `*` patterns with the most specific key winning, condition objects in key order with
 * "default", fallback arrays, and null targets that hide a subpath. Pure: the caller supplies
 * the parsed package.json, the conditions, and how to resolve a bare "imports" target.
 */
import { pathToFileURL } from 'url';
import type { PackageJson } from './package-json';
import * as errors from './errors';

export interface TargetContext {
  readonly pkg: PackageJson;
  /** The importer, as a path, for error messages. */
  readonly base: string | undefined;
  readonly conditions: ReadonlySet<string>;
  /** "imports" may map to another package: resolve that bare specifier from the package. */
  readonly resolveBare?: (specifier: string, pkgJsonUrl: URL) => URL;
}

type Result = URL | null | undefined;

// `.`, `..` and `node_modules` segments are refused. (Empty segments, `//`, are only deprecated
// in Node 20, so they are accepted here too.)
const refusedSegment = /(^|\\|\/)((\.|%2e)(\.|%2e)?|(n|%6e|%4e)(o|%6f|%4f)(d|%64|%44)(e|%65|%45)(_|%5f)(m|%6d|%4d)(o|%6f|%4f)(d|%64|%44)(u|%75|%55)(l|%6c|%4c)(e|%65|%45)(s|%73|%53))(\\|\/|$)/i;

const pkgJsonUrl = (pkg: PackageJson) => pathToFileURL(pkg.dir + '/package.json');
const pkgDirShown = (pkg: PackageJson) => (pkg.dir.endsWith('/') ? pkg.dir : pkg.dir + '/');

function canParseUrl(s: string): boolean {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

function targetString(ctx: TargetContext, target: string, subpath: string, key: string, pattern: boolean, internal: boolean): URL {
  const bad = () => errors.invalidPackageTarget(pkgDirShown(ctx.pkg), key, target, internal, ctx.base);
  if (subpath !== '' && !pattern && !target.endsWith('/')) throw bad();
  if (!target.startsWith('./')) {
    if (internal && !target.startsWith('../') && !target.startsWith('/') && !canParseUrl(target) && ctx.resolveBare) {
      return ctx.resolveBare(pattern ? target.replace(/\*/g, () => subpath) : target + subpath, pkgJsonUrl(ctx.pkg));
    }
    throw bad();
  }
  if (refusedSegment.test(target.slice(2))) throw bad();
  const url = new URL(target, pkgJsonUrl(ctx.pkg));
  if (!url.pathname.startsWith(new URL('.', pkgJsonUrl(ctx.pkg)).pathname)) throw bad();
  if (subpath === '') return url;
  if (refusedSegment.test(subpath)) {
    const request = pattern ? key.replace('*', () => subpath) : key + subpath;
    throw errors.invalidModuleSpecifier(request, `request is not a valid match in pattern "${key}" for the "${internal ? 'imports' : 'exports'}" resolution of ${pkgDirShown(ctx.pkg)}package.json`, ctx.base);
  }
  if (pattern) return new URL(url.href.replace(/\*/g, () => subpath));
  return new URL(subpath, url);
}

function isArrayIndex(key: string): boolean {
  const n = Number(key);
  return `${n}` === key && n >= 0 && n < 0xffff_ffff;
}

function target(ctx: TargetContext, t: unknown, subpath: string, key: string, pattern: boolean, internal: boolean): Result {
  if (typeof t === 'string') return targetString(ctx, t, subpath, key, pattern, internal);
  if (Array.isArray(t)) {
    if (t.length === 0) return null;
    let last: unknown;
    for (const item of t) {
      let r: Result;
      try {
        r = target(ctx, item, subpath, key, pattern, internal);
      } catch (err) {
        last = err;
        if ((err as { code?: string }).code === 'ERR_INVALID_PACKAGE_TARGET') continue;
        throw err;
      }
      if (r === undefined) continue;
      if (r === null) {
        last = null;
        continue;
      }
      return r;
    }
    if (last === undefined || last === null) return last as null | undefined;
    throw last;
  }
  if (t && typeof t === 'object') {
    const keys = Object.getOwnPropertyNames(t);
    if (keys.some(isArrayIndex)) {
      throw errors.invalidPackageConfig(`${pkgDirShown(ctx.pkg)}package.json`, ctx.base, '"exports" cannot contain numeric property keys.');
    }
    for (const k of keys) {
      if (k !== 'default' && !ctx.conditions.has(k)) continue;
      const r = target(ctx, (t as Record<string, unknown>)[k], subpath, key, pattern, internal);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (t === null) return null;
  throw errors.invalidPackageTarget(pkgDirShown(ctx.pkg), key, t, internal, ctx.base);
}

/** Orders pattern keys: the longer prefix before the `*` wins, then the longer key. */
export function patternKeyCompare(a: string, b: string): number {
  const aStar = a.indexOf('*');
  const bStar = b.indexOf('*');
  const baseA = aStar === -1 ? a.length : aStar + 1;
  const baseB = bStar === -1 ? b.length : bStar + 1;
  if (baseA > baseB) return -1;
  if (baseB > baseA) return 1;
  if (aStar === -1) return 1;
  if (bStar === -1) return -1;
  if (a.length > b.length) return -1;
  if (b.length > a.length) return 1;
  return 0;
}

/** The best pattern key matching `request`, and what its `*` stands for. */
function bestPattern(map: Record<string, unknown>, request: string): { key: string; sub: string } | null {
  let best = '';
  let sub = '';
  for (const key of Object.getOwnPropertyNames(map)) {
    const star = key.indexOf('*');
    if (star === -1 || !request.startsWith(key.slice(0, star))) continue;
    const trailer = key.slice(star + 1);
    if (request.length >= key.length && request.endsWith(trailer) && patternKeyCompare(best, key) === 1 && key.lastIndexOf('*') === star) {
      best = key;
      sub = request.slice(star, request.length - trailer.length);
    }
  }
  return best ? { key: best, sub } : null;
}

function isMainSugar(ctx: TargetContext, exports: unknown): boolean {
  if (typeof exports === 'string' || Array.isArray(exports)) return true;
  if (!exports || typeof exports !== 'object') return false;
  let sugar: boolean | undefined;
  for (const key of Object.getOwnPropertyNames(exports)) {
    const cur = key === '' || key[0] !== '.';
    if (sugar === undefined) sugar = cur;
    else if (sugar !== cur) {
      throw errors.invalidPackageConfig(`${pkgDirShown(ctx.pkg)}package.json`, ctx.base,
        '"exports" cannot contain some keys starting with \'.\' and some not. The exports object must either be an object of package subpath keys or an object of main entry condition name keys only.');
    }
  }
  return sugar ?? false;
}

/** `subpath` is '.' or './x'. */
export function resolveExports(ctx: TargetContext, subpath: string): URL {
  let exports = ctx.pkg.exports as Record<string, unknown>;
  if (isMainSugar(ctx, exports)) exports = { '.': exports };
  const notExported = () => errors.pathNotExported(pkgDirShown(ctx.pkg), subpath, ctx.base);
  if (Object.prototype.hasOwnProperty.call(exports, subpath) && !subpath.includes('*') && !subpath.endsWith('/')) {
    const r = target(ctx, exports[subpath], '', subpath, false, false);
    if (r == null) throw notExported();
    return r;
  }
  const best = bestPattern(exports, subpath);
  if (best) {
    const r = target(ctx, exports[best.key], best.sub, best.key, true, false);
    if (r == null) throw notExported();
    return r;
  }
  throw notExported();
}

/** `name` starts with '#'; `ctx.pkg` is the importer's package scope. */
export function resolveImports(ctx: TargetContext, name: string): URL {
  const imports = ctx.pkg.imports as Record<string, unknown> | undefined;
  if (imports && typeof imports === 'object') {
    if (Object.prototype.hasOwnProperty.call(imports, name) && !name.includes('*')) {
      const r = target(ctx, imports[name], '', name, false, true);
      if (r != null) return r;
    } else {
      const best = bestPattern(imports, name);
      if (best) {
        const r = target(ctx, imports[best.key], best.sub, best.key, true, true);
        if (r != null) return r;
      }
    }
  }
  throw errors.importNotDefined(name, pkgDirShown(ctx.pkg), ctx.base);
}
