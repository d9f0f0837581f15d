/**
 * Node options that change module resolution, read from this process's command line and
 * NODE_OPTIONS (the loader's own parsed options are internal). Only what the overlay's
 * resolver must honour to resolve as Node would.
 */
function nodeFlags(): string[] {
  const fromEnv = (process.env.NODE_OPTIONS ?? '').match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? [];
  return [...process.execArgv, ...fromEnv.map((s) => s.replace(/^["']|["']$/g, ''))];
}

export function hasFlag(name: string): boolean {
  return nodeFlags().includes(name);
}

/** `--conditions=x`, `--conditions x`, `-C x`, `-C=x`. */
export function userConditions(): string[] {
  const flags = nodeFlags();
  const out: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const m = /^(?:--conditions|-C)(?:=(.*))?$/.exec(flags[i]);
    if (!m) continue;
    const value = m[1] ?? flags[++i];
    if (value) out.push(value);
  }
  return out;
}
