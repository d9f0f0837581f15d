/**
 * The kernel marks an opaque directory with the xattr trusted.overlay.opaque=y; Node has no
 * xattr API. We use setfattr/getfattr (Debian's `attr` package) when installed, else python3's
 * os.setxattr family, one process per batch of directories either way.
 */
import { onPath, runTool } from './tools';
import { CliError } from '../core/errors';

export const OPAQUE_XATTR = 'trusted.overlay.opaque';
const BATCH = 500;

export type XattrTool = 'attr' | 'python3';

export function xattrTool(): XattrTool | null {
  if (onPath('setfattr') && onPath('getfattr')) return 'attr';
  if (onPath('python3')) return 'python3';
  return null;
}

export const MISSING_XATTR_TOOL = 'converting opaque directories needs setfattr/getfattr (Debian/Ubuntu: apt-get install attr) or python3, and neither is installed';

function tool(): XattrTool {
  const t = xattrTool();
  if (!t) throw new CliError(MISSING_XATTR_TOOL);
  return t;
}

const PY = `
import json, os, sys
req = json.load(sys.stdin)
name, out = req['name'], []
for d in req['dirs']:
    if req['op'] == 'set':
        os.setxattr(d, name, b'y', follow_symlinks=False)
    elif req['op'] == 'remove':
        os.removexattr(d, name, follow_symlinks=False)
    else:
        try:
            if os.getxattr(d, name, follow_symlinks=False) == b'y': out.append(d)
        except OSError:
            pass
json.dump(out, sys.stdout)
`;

function python(op: 'set' | 'remove' | 'get', dirs: string[]): string[] {
  const r = runTool('python3', ['-c', PY], JSON.stringify({ op, name: OPAQUE_XATTR, dirs }));
  if (!r.ok) throw new CliError(`python3 could not ${op} the ${OPAQUE_XATTR} xattr: ${r.error.split('; ').pop()}`);
  return JSON.parse(r.stdout || '[]') as string[];
}

/** getfattr -d prints `# file: <path>` (octal escapes) before each file that has the xattr. */
function parseDump(text: string): string[] {
  const out: string[] = [];
  let file: string | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      const bytes = line.slice(8).replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))).replace(/\\\\/g, '\\');
      file = Buffer.from(bytes, 'latin1').toString('utf8');
    } else if (file && line === `${OPAQUE_XATTR}="y"`) out.push(file);
  }
  return out;
}

function batches<T>(list: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += BATCH) out.push(list.slice(i, i + BATCH));
  return out;
}

export function setOpaque(dirs: string[]): void {
  const t = tool();
  for (const b of batches(dirs)) {
    if (t === 'python3') python('set', b);
    else {
      const r = runTool('setfattr', ['-n', OPAQUE_XATTR, '-v', 'y', '--', ...b]);
      if (!r.ok) throw new CliError(`setfattr failed: ${r.error}`);
    }
  }
}

export function removeOpaque(dirs: string[]): void {
  const t = tool();
  for (const b of batches(dirs)) {
    if (t === 'python3') python('remove', b);
    else {
      const r = runTool('setfattr', ['-x', OPAQUE_XATTR, '--', ...b]);
      if (!r.ok) throw new CliError(`setfattr failed: ${r.error}`);
    }
  }
}

/** The directories among `dirs` that are opaque in the kernel's sense (value "y"). */
export function opaqueAmong(dirs: string[]): string[] {
  const t = tool();
  const out: string[] = [];
  for (const b of batches(dirs)) {
    if (t === 'python3') out.push(...python('get', b));
    else {
      const r = runTool('getfattr', ['--absolute-names', '-d', '-m', `^${OPAQUE_XATTR.replace(/\./g, '\\.')}$`, '--', ...b]);
      if (!r.ok) throw new CliError(`getfattr failed: ${r.error}`);
      out.push(...parseDump(r.stdout));
    }
  }
  return out;
}
