/**
 * CommonJS loading under a mountpoint, the parts that Module._stat and Module._readPackage do
 * not reach: Node looks up a file's package scope (its "type", its "imports", the package's
 * own name for self-reference) through a private binding that sees only the physical disk.
 * For importers and files under a mountpoint this reads the scope through the merged view.
 */
import Module = require('module');
import * as path from 'path';
import type * as nodeFs from 'fs';
import { fileURLToPath } from 'url';
import { original } from '../real-fs';
import { createResolver } from './resolver';
import { packageScope, readTextWith } from './package-json';
import { resolveExports } from './exports';
import { hasFlag, userConditions } from './flags';

type AnyFn = (...args: any[]) => any;

function requireModuleEnabled(): boolean {
  return (process.features as unknown as Record<string, unknown>).require_module === true;
}

function cjsConditions(): Set<string> {
  const c = new Set(['require', 'node', ...(hasFlag('--no-addons') ? [] : ['node-addons']), ...userConditions()]);
  if (requireModuleEnabled()) c.add('module-sync');
  return c;
}

/** Node's CommonJS "not found" error for specifiers resolved the ESM way. */
function notFound(request: string, pkgJson?: string): Error {
  const err = Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
  if (pkgJson) Object.assign(err, { path: pkgJson });
  return err;
}

export function installCjsScopeHooks(api: typeof nodeFs, underMount: (abs: string) => boolean, undo: Array<() => void>): void {
  const M = Module as any;
  const resolver = createResolver(api);
  const physical = readTextWith(original);
  const prevJs: AnyFn = M._extensions['.js'];
  const prevResolve: AnyFn = M._resolveFilename;

  // A .js file's format comes from its package scope. Only when the merged scope says something
  // other than what Node would read from the physical disk is the file loaded here; otherwise
  // Node's handler (and any other tool's hook chained on it) stays in charge.
  M._extensions['.js'] = function loadJs(this: unknown, module: any, filename: string) {
    if (!filename.endsWith('.js') || !underMount(filename)) return prevJs.call(this, module, filename);
    const type = packageScope(resolver.read, filename)?.type;
    if (type === packageScope(physical, filename)?.type) return prevJs.call(this, module, filename);
    if (type === 'module' && !requireModuleEnabled()) {
      throw Object.assign(new Error(`require() of ES Module ${filename} not supported.`), { code: 'ERR_REQUIRE_ESM' });
    }
    module._compile(api.readFileSync(filename, 'utf8'), filename, type);
  };

  const finish = (url: URL, request: string, pkgDir?: string): string => {
    const file = fileURLToPath(url);
    if (resolver.kind(file) !== 'file') throw notFound(request, pkgDir && path.join(pkgDir, 'package.json'));
    return hasFlag('--preserve-symlinks') ? file : api.realpathSync(file);
  };

  M._resolveFilename = function resolveFilename(this: unknown, request: unknown, parent: any, ...rest: unknown[]) {
    const parentPath: unknown = parent?.filename;
    if (typeof request === 'string' && typeof parentPath === 'string' && underMount(parentPath)) {
      if (request[0] === '#') {
        try {
          return finish(resolver.importsResolve(request, parentPath, cjsConditions()), request);
        } catch (err) {
          if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw notFound(request);
          throw err;
        }
      }
      if (request[0] !== '.' && request[0] !== '/') {
        const scope = packageScope(resolver.read, parentPath);
        const name = scope?.name;
        if (scope && name && scope.exports != null && (request === name || request.startsWith(name + '/'))) {
          const url = resolveExports({ pkg: scope, base: parentPath, conditions: cjsConditions() }, '.' + request.slice(name.length));
          return finish(url, request, scope.dir);
        }
      }
    }
    return prevResolve.call(this, request, parent, ...rest);
  };

  undo.push(() => {
    M._extensions['.js'] = prevJs;
    M._resolveFilename = prevResolve;
  });
}
