/**
 * TypeScript's JS `tsc` (the typescript 5.9 devDependency; TypeScript 7 is a native binary that
 * cannot see a JS patch) compiles a project whose tsconfig.json (upper) and src/ (lower layers)
 * come from different layers; the emitted dist/ goes through the overlay into the upper.
 */
import * as path from 'path';
import { NODE_MODULES, ToolScratch, expectSameOutcome } from './harness';

const TSC = path.join(NODE_MODULES, 'typescript', 'bin', 'tsc');

const base = {
  'tsconfig.base.json': JSON.stringify({
    compilerOptions: { target: 'ES2020', module: 'commonjs', strict: true, declaration: true, sourceMap: true, outDir: 'dist', rootDir: 'src' },
  }, null, 2),
  'src/util.ts': 'export function shout(s: string): string {\n  return s.toUpperCase();\n}\n',
  // Deleted in the upper by a whiteout: it does not compile, so tsc fails if it can still see it.
  'src/legacy.ts': 'export const broken: number = "not a number";\n',
  'src/types/shape.d.ts': 'export interface Shape { name: string; sides: number }\n',
};
const theme = {
  'src/index.ts': [
    "import { shout } from './util';",
    "import { describe } from './shape';",
    "import type { Shape } from './types/shape';",
    "const square: Shape = { name: 'square', sides: 4 };",
    'console.log(shout(describe(square)));',
    '',
  ].join('\n'),
  'src/shape.ts': "import type { Shape } from './types/shape';\nexport const describe = (s: Shape): string => `${s.name} has ${s.sides} sides`;\n",
};
const upper = {
  'tsconfig.json': JSON.stringify({ extends: './tsconfig.base.json', compilerOptions: { removeComments: true }, include: ['src'] }, null, 2),
  // Overrides the bottom layer's util.ts.
  'src/util.ts': '/** upper */\nexport function shout(s: string): string {\n  return `${s.toUpperCase()}!`;\n}\n',
  'src/legacy.ts': null,
};

test('tsc -p <mountpoint> compiles the layered project exactly like the flattened copy, emitting into the upper', async () => {
  const s = new ToolScratch('tsc', { upper, lower: [['theme', theme], ['base', base]] });
  try {
    s.setup();
    const args = [TSC, '-p', s.app, '--listEmittedFiles', '--listFiles'];
    const b = await s.baseline({ args });
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const emitted = s.changedByBaseline();
    expect(emitted).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/util.js', 'dist/shape.js']));
    expect(emitted.every((f) => f.startsWith('dist/'))).toBe(true);
    expect(emitted.some((f) => f.includes('legacy'))).toBe(false);
    expect(b.stdout).toContain(path.join(s.app, 'src', 'index.ts'));

    const o = await s.overlay({ args });
    expectSameOutcome(s, b, o);
    // The output landed in the upper, byte for byte what the plain run wrote; no lower has a dist/.
    const up = s.upperTree();
    for (const f of emitted) expect(up[f]).toBe(s.baselineTree()[f]);
    expect(up['dist/util.js']).toContain('`${s.toUpperCase()}!`');

    // The compiled program runs on the overlay like on the plain copy.
    const run = await s.overlay({ args: [path.join(s.app, 'dist', 'index.js')] });
    expect(run).toEqual({ code: 0, signal: null, stdout: 'SQUARE HAS 4 SIDES!\n', stderr: '' });
  } finally {
    s.dispose();
  }
});
