/** `explain`: the kernel's mount command for the same stack. */
import * as fs from 'fs';
import { seed, removeScratches, demoChanges } from './cli';

afterAll(removeScratches);

test('prints the mount -t overlay line with absolute paths, lowers highest first', () => {
  const s = seed();
  const d = s.dir;
  expect(s.run(['explain', ...s.flags])).toEqual({
    status: 0,
    stderr: '',
    stdout: `mount -t overlay overlay -o lowerdir=${d}/middle:${d}/lower,upperdir=${d}/upper,workdir=${d}/.upper.overlay-work ${d}/merged\n`,
  });
  fs.mkdirSync(s.p('w'));
  expect(s.run(['explain', ...s.flags, '--workdir', 'w']).stdout).toContain(`,workdir=${d}/w ${d}/merged`);
});

test('a read-only stack has only lowerdir=; one lower gets a note on stderr', () => {
  const s = seed();
  const d = s.dir;
  expect(s.run(['explain', '--mount', 'm', '--lower', 'middle', '--lower', 'lower']).stdout).toBe(`mount -t overlay overlay -o lowerdir=${d}/middle:${d}/lower ${d}/m\n`);
  const one = s.run(['explain', '--mount', 'm', '--lower', 'lower']);
  expect(one.stdout).toBe(`mount -t overlay overlay -o lowerdir=${d}/lower ${d}/m\n`);
  expect(one.stderr).toMatch(/note: the kernel needs at least two lowerdir/);
});

test('paths are escaped for the option string and quoted for the shell', () => {
  const s = seed();
  fs.renameSync(s.p('lower'), s.p("lo wer:1,'x'"));
  const r = s.run(['explain', '--mount', 'm', '--lower', 'middle', '--lower', "lo wer:1,'x'"]);
  expect(r.stdout).toBe(`mount -t overlay overlay -o 'lowerdir=${s.dir}/middle:${s.dir}/lo wer\\:1\\,'\\''x'\\''' ${s.dir}/m\n`);
});

test('OCI whiteouts in the upper: a note that the kernel needs them converted', () => {
  const s = seed();
  demoChanges(s);
  const r = s.run(['explain', ...s.flags]);
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/^overlay-fs explain: note: the upper has OCI whiteouts \(.*\.wh\..*\).*overlay-fs mount/);
});
