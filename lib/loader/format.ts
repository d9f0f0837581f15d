/**
 * The module format of a file under a mountpoint, decided as Node 20 decides it (extension,
 * then the package scope's "type", then syntax detection for typeless .js files), except
 * that the package scope is read through the merged view. Node's own lookup uses a private
 * binding and would see the layers' physical package.json files, or none at all.
 */
import * as path from 'path';
import * as vm from 'vm';
import { packageScope, type ReadText } from './package-json';

// The syntax errors that only ES module syntax produces when compiled as CommonJS. Node's
// containsModuleSyntax() works from the same messages (it is internal, so this is a small
// stand-in; top-level await counts as module syntax, as there).
const MODULE_ONLY = [
  'Cannot use import statement outside a module',
  "Unexpected token 'export'",
  "Cannot use 'import.meta' outside a module",
  'await is only valid in async functions and the top level bodies of modules',
];

export function looksLikeModule(source: string, filename: string): boolean {
  const body = source.startsWith('#!') ? '//' + source.slice(2) : source;
  try {
    vm.compileFunction(body, ['exports', 'require', 'module', '__filename', '__dirname'], { filename });
    return false;
  } catch (err) {
    // By name: the error comes from the main context's SyntaxError, another realm inside a vm
    // context or jest's sandbox, where `instanceof SyntaxError` would be false.
    const e = err as { name?: unknown; message?: unknown } | null;
    return e?.name === 'SyntaxError' && typeof e.message === 'string' && MODULE_ONLY.some((m) => (e.message as string).includes(m));
  }
}

export interface Decided {
  /** undefined: not a format decided by extension or scope; Node decides (or refuses it). */
  format: string | undefined;
  /** The source, when it had to be read to decide. */
  source?: Buffer;
}

export async function decideFormat(file: string, read: ReadText, getSource: () => Promise<Buffer>): Promise<Decided> {
  const ext = path.extname(file);
  switch (ext) {
    case '.mjs': return { format: 'module' };
    case '.cjs': return { format: 'commonjs' };
    case '.json': return { format: 'json' };
    case '.js':
    case '': {
      const type = packageScope(read, file)?.type;
      if (type) return { format: type };
      const source = await getSource();
      return { format: looksLikeModule(source.toString('utf8'), file) ? 'module' : 'commonjs', source };
    }
    default:
      return { format: undefined };
  }
}
