/** Finding and running the external programs that mounting needs. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** The program's path when it is on PATH and executable. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch { /* next */ }
  }
  return null;
}

export interface ToolResult {
  ok: boolean;
  stdout: string;
  /** stderr, or the spawn error, trimmed to one line's worth. */
  error: string;
}

export function runTool(cmd: string, args: string[], input?: string): ToolResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  const error = r.error ? r.error.message : (r.stderr || '').trim().split('\n').filter(Boolean).join('; ');
  return { ok: !r.error && r.status === 0, stdout: r.stdout ?? '', error: error || (r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`) };
}
