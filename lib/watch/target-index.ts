/**
 * Which slots care about a real path: a slot's target (a layer's directory for a merged
 * directory) is registered under itself and every ancestor up to its layer root, so that an
 * event naming real path q finds, in one lookup, every slot whose target is q or lies under q
 * (q appeared, vanished or was replaced: those slots must locate their directory again).
 */
export class TargetIndex<S> {
  #under = new Map<string, Set<S>>();

  add(slot: S, root: string, target: string): void {
    for (const p of chain(root, target)) {
      let set = this.#under.get(p);
      if (!set) this.#under.set(p, (set = new Set()));
      set.add(slot);
    }
  }

  remove(slot: S, root: string, target: string): void {
    for (const p of chain(root, target)) {
      const set = this.#under.get(p);
      if (!set) continue;
      set.delete(slot);
      if (set.size === 0) this.#under.delete(p);
    }
  }

  /** Slots whose target is `p` or lies under it. */
  at(p: string): S[] {
    const set = this.#under.get(p);
    return set ? [...set] : [];
  }
}

/** `target` and its ancestors down to `root` (inclusive). */
function chain(root: string, target: string): string[] {
  const out = [target];
  let p = target;
  while (p !== root && p.length > root.length) {
    p = p.slice(0, p.lastIndexOf('/')) || '/';
    out.push(p);
  }
  return out;
}
