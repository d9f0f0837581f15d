/**
 * Package resolution over an fs whose paths are routed through the overlays: bare specifiers
 * (self-reference, node_modules lookup, "exports", legacy "main") and "#imports". This is the
 * part of Node's ESM resolver that runs on private bindings, rebuilt on the public fs so that
 * packages under a mountpoint resolve in the merged view. Results are URLs, as in Node.
 */
import * as path from 'path';
import { isBuiltin } from 'module';
import { fileURLToPath, pathToFileURL } from 'url';
import type * as nodeFs from 'fs';
import { readPackage, readTextWith, packageScope, type PackageJson } from './package-json';
import { resolveExports, resolveImports } from './exports';
import * as errors from './errors';

export interface ResolverFs {
  statSync(p: string, o: { throwIfNoEntry: false }): nodeFs.Stats | undefined;
  readFileSync(p: string, enc: 'utf8'): string;
}

export interface Resolver {
  /** A bare specifier from `base` (a file: URL of the importer, or of a directory ending in '/'). */
  packageResolve(specifier: string, base: URL, conditions: ReadonlySet<string>): URL;
  /** A "#name" specifier from the importer at `parentPath`. */
  importsResolve(name: string, parentPath: string, conditions: ReadonlySet<string>): URL;
  /** 'file', 'directory' or null. */
  kind(p: string): 'file' | 'directory' | null;
  read: (file: string) => string | null;
}

/** Splits 'pkg/sub' and '@scope/pkg/sub' into the package name and './sub'. */
export function parsePackageName(specifier: string, base: string | undefined): { name: string; subpath: string } {
  let sep = specifier.indexOf('/');
  let valid = true;
  if (specifier[0] === '@') {
    if (sep === -1) valid = false;
    else sep = specifier.indexOf('/', sep + 1);
  }
  const name = sep === -1 ? specifier : specifier.slice(0, sep);
  if (/^\.|%|\\/.test(name)) valid = false;
  if (!valid) throw errors.invalidModuleSpecifier(specifier, 'is not a valid package name', base);
  return { name, subpath: '.' + (sep === -1 ? '' : specifier.slice(sep)) };
}

/** The path whose directory starts a lookup: a directory URL (ending '/') stands for itself. */
export function lookupFile(base: URL): string {
  const p = fileURLToPath(base);
  return base.pathname.endsWith('/') ? path.join(p, '[importer]') : p;
}

function shownBase(base: URL): string | undefined {
  try {
    return fileURLToPath(base);
  } catch {
    return base.href;
  }
}

export function createResolver(fs: ResolverFs): Resolver {
  const read = readTextWith(fs);
  const kind = (p: string): 'file' | 'directory' | null => {
    // Only ENOENT is quiet with throwIfNoEntry (as in Node); any failure means "not there" here.
    let st: nodeFs.Stats | undefined;
    try {
      st = fs.statSync(p, { throwIfNoEntry: false });
    } catch {
      return null;
    }
    return st ? (st.isDirectory() ? 'directory' : 'file') : null;
  };

  // Node 20: main, main + .js/.json/.node, main/index.*, then index.* (with a deprecation
  // warning in Node for the fallbacks; the resolution is the same).
  function legacyMain(pkg: PackageJson, base: string | undefined): URL {
    const tries: string[] = [];
    if (pkg.main) {
      const m = pkg.main;
      tries.push(m, `${m}.js`, `${m}.json`, `${m}.node`, `${m}/index.js`, `${m}/index.json`, `${m}/index.node`);
    }
    tries.push('index.js', 'index.json', 'index.node');
    for (const t of tries) {
      const file = path.resolve(pkg.dir, t);
      if (kind(file) === 'file') return pathToFileURL(file);
    }
    throw errors.moduleNotFound(pkg.dir, base);
  }

  function packageResolve(specifier: string, base: URL, conditions: ReadonlySet<string>): URL {
    if (isBuiltin(specifier)) return new URL(specifier.startsWith('node:') ? specifier : 'node:' + specifier);
    const shown = shownBase(base);
    const { name, subpath } = parsePackageName(specifier, shown);
    const start = lookupFile(base);
    const ctx = (pkg: PackageJson) => ({ pkg, base: shown, conditions, resolveBare: (s: string, u: URL) => packageResolve(s, u, conditions) });

    const scope = packageScope(read, start);
    if (scope && scope.exports != null && scope.name === name) return resolveExports(ctx(scope), subpath);

    for (let dir = path.dirname(start); ; dir = path.dirname(dir)) {
      const pkgDir = path.join(dir, 'node_modules', name);
      if (kind(pkgDir) === 'directory') {
        const pkg = readPackage(read, pkgDir, shown) ?? { dir: pkgDir };
        if (pkg.exports != null) return resolveExports(ctx(pkg), subpath);
        if (subpath === '.') return legacyMain(pkg, shown);
        return new URL(subpath, pathToFileURL(pkgDir + '/package.json'));
      }
      if (path.dirname(dir) === dir) break;
    }
    throw errors.moduleNotFound(name, shown);
  }

  function importsResolve(name: string, parentPath: string, conditions: ReadonlySet<string>): URL {
    if (name === '#' || name.startsWith('#/') || name.endsWith('/')) {
      throw errors.invalidModuleSpecifier(name, 'is not a valid internal imports specifier name', parentPath);
    }
    const scope = packageScope(read, parentPath);
    if (!scope) throw errors.importNotDefined(name, undefined, parentPath);
    return resolveImports({ pkg: scope, base: parentPath, conditions, resolveBare: (s, u) => packageResolve(s, u, conditions) }, name);
  }

  return { packageResolve, importsResolve, kind, read };
}
