/** "1 file", "2 files": messages people read should not say "1 files". */
export function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}
