/**
 * The ESM `resolve` hook. Node's default resolver stats files and reads package.json through
 * private bindings, so it cannot see a mountpoint. This hook takes over only for specifiers
 * that touch a mountpoint (a relative, absolute or file: URL target under one; "#imports" or a
 * bare specifier from an importer under one; a node_modules candidate under one) and hands
 * everything else to Node untouched.
 */
import fs = require('fs');
import * as path from 'path';
import { isBuiltin } from 'module';
import { fileURLToPath, pathToFileURL } from 'url';
import { isAtOrUnder } from '../paths';
import { createResolver, lookupFile } from './resolver';
import { hasFlag } from './flags';
import * as errors from './errors';

export interface ResolveContext {
  conditions?: string[];
  importAttributes?: Record<string, string>;
  parentURL?: string;
}
export interface ResolveResult {
  url: string;
  format?: string | null;
  importAttributes?: Record<string, string>;
  shortCircuit?: boolean;
}
export type NextResolve = (specifier: string, context?: ResolveContext) => ResolveResult | Promise<ResolveResult>;

function isRelativeOrAbsolute(s: string): boolean {
  return s[0] === '/' || s === '.' || s === '..' || s.startsWith('./') || s.startsWith('../');
}

function parseUrl(s: string, base?: URL): URL | null {
  try {
    return new URL(s, base);
  } catch {
    return null;
  }
}

function pathOf(url: URL): string | null {
  try {
    return fileURLToPath(url);
  } catch {
    return null;
  }
}

export function createResolveHook(mountpoints: () => readonly string[]) {
  // The public fs: in the hooks thread it carries the patch, so paths are routed.
  const resolver = createResolver(fs);
  const underMount = (p: string | null) => p !== null && mountpoints().some((m) => isAtOrUnder(p, m));

  /** A bare specifier is ours if the importer, or a node_modules directory it may use, is in a mount. */
  function bareTouchesMount(specifier: string, start: string): boolean {
    if (underMount(start)) return true;
    const name = specifier.split('/').slice(0, specifier[0] === '@' ? 2 : 1).join('/');
    const mounts = mountpoints();
    for (let dir = path.dirname(start); ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', name);
      if (mounts.some((m) => isAtOrUnder(candidate, m) || isAtOrUnder(m, candidate))) return true;
      if (path.dirname(dir) === dir) return false;
    }
  }

  /** Node's finalizeResolution: a file (not a directory) that exists, with symlinks resolved. */
  function finalize(url: URL, base: string | undefined, preserveSymlinks: boolean): string {
    if (/%2F|%5C/i.test(url.pathname)) {
      throw errors.invalidModuleSpecifier(url.pathname, 'must not include encoded "/" or "\\" characters', base);
    }
    const file = fileURLToPath(url);
    const kind = resolver.kind(file.endsWith('/') ? file.slice(0, -1) : file);
    if (kind === 'directory') throw errors.unsupportedDirImport(file, base, url.href);
    if (kind !== 'file') throw errors.moduleNotFound(file, base, url.href);
    if (preserveSymlinks) return url.href;
    // The patched realpath answers in merged paths, so the module's URL stays in the mount.
    const real = pathToFileURL(fs.realpathSync(file) + (file.endsWith('/') ? '/' : ''));
    real.search = url.search;
    real.hash = url.hash;
    return real.href;
  }

  return async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<ResolveResult> {
    if (mountpoints().length === 0) return next(specifier, context);
    const isMain = context.parentURL === undefined;
    const base = parseUrl(context.parentURL ?? pathToFileURL(process.cwd() + '/').href);
    if (!base || base.protocol !== 'file:') return next(specifier, context);
    const basePath = pathOf(base) ?? undefined;
    const conditions = new Set(context.conditions ?? ['node', 'import']);

    let url: URL | null;
    if (isRelativeOrAbsolute(specifier)) {
      url = parseUrl(specifier, base);
      if (!url || !underMount(pathOf(url))) return next(specifier, context);
    } else if (specifier[0] === '#') {
      if (!basePath || !underMount(basePath)) return next(specifier, context);
      url = resolver.importsResolve(specifier, basePath, conditions);
    } else if ((url = parseUrl(specifier))) {
      if (url.protocol !== 'file:' || !underMount(pathOf(url))) return next(specifier, context);
    } else {
      if (isBuiltin(specifier) || !bareTouchesMount(specifier, lookupFile(base))) return next(specifier, context);
      url = resolver.packageResolve(specifier, base, conditions);
    }
    if (url.protocol !== 'file:') return { url: url.href, shortCircuit: true };
    const preserve = hasFlag(isMain ? '--preserve-symlinks-main' : '--preserve-symlinks');
    return { url: finalize(url, basePath, preserve), shortCircuit: true };
  };
}
