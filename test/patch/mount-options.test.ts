/** The kernel-style option string (`mount -t overlay -o ...`) accepted by the configuration. */
import { parseMountOptions } from '../../lib/mount-options';

test('lowerdir keeps the kernel order (highest first); upperdir and workdir', () => {
  expect(parseMountOptions('lowerdir=/a:/b:/c,upperdir=/u,workdir=/w')).toEqual({ lower: ['/a', '/b', '/c'], upper: '/u', workdir: '/w' });
  expect(parseMountOptions('lowerdir=only')).toEqual({ lower: ['only'] });
});

test('a backslash escapes ":" "," and "\\\\" inside a path, as for the kernel', () => {
  expect(parseMountOptions('lowerdir=a\\:b:c\\,d,upperdir=e\\\\f')).toEqual({ lower: ['a:b', 'c,d'], upper: 'e\\f' });
});

test('kernel features are accepted only when switched off (what overlay-fs does anyway)', () => {
  expect(parseMountOptions('lowerdir=a,index=off,metacopy=off,redirect_dir=off,xino=off,nfs_export=off')).toEqual({ lower: ['a'] });
  for (const opt of ['metacopy=on', 'index=on', 'userxattr', 'volatile', 'redirect_dir=follow', 'ro']) {
    expect(() => parseMountOptions(`lowerdir=a,${opt}`)).toThrow(new RegExp(`"${opt}", which overlay-fs does not support`));
  }
});

test.each([
  ['', /is empty/],
  ['upperdir=u', /no lowerdir/],
  ['lowerdir=a::b', /none empty/],
  ['lowerdir=', /none empty/],
  ['lowerdir=a,,upperdir=u', /empty item/],
  ['lowerdir=a,lowerdir=b', /"lowerdir" twice/],
  ['lowerdir=a,workdir=w', /workdir without upperdir/],
  ['lowerdir=a,upperdir=', /upperdir needs a directory/],
])('%j is refused (%p)', (text, message) => {
  expect(() => parseMountOptions(text)).toThrow(message);
});
