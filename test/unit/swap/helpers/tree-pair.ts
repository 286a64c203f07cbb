// A map1/map2 pair from two shell scripts: map1's tree, then the "upgrade" run on a copy of it; and a
// host that starts as an exact copy of map1's tree. Everything lives under BASE/NAME.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTree1, mapOfTree, sh, upgradeTree } from './tree.ts';

export function treePair(base: string, name: string, tree1: string, upgrade: string) {
  const store = join(base, name, 'store');
  const t1 = join(base, name, 't1'), t2 = join(base, name, 't2'), h = join(base, name, 'h');
  mkdirSync(t1, { recursive: true });
  sh(tree1, t1);
  execFileSync('cp', ['-a', t1, t2]);
  sh(upgrade, t2);
  const map1 = mapOfTree(t1, store), map2 = mapOfTree(t2, store);
  execFileSync('cp', ['-a', t1, h]);
  return { store, t1, t2, h, map1, map2 };
}

/** The standard pair (buildTree1 / upgradeTree) in a new temp directory named after `prefix`. */
export function standardPair(prefix: string) {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const store = join(base, 'store'), t1 = join(base, 't1'), t2 = join(base, 't2');
  buildTree1(t1);
  execFileSync('cp', ['-a', t1, t2]);
  upgradeTree(t2);
  return { base, store, t1, t2, map1: mapOfTree(t1, store), map2: mapOfTree(t2, store) };
}
