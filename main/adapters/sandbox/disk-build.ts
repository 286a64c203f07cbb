// The sandbox's disks, built from map1, by root or by any user (nothing here needs privileges: the
// image is a file that mkfs.ext4 and debugfs write, and the map's owners go straight into its inodes):
//   base image (cached per map content id in the image cache, $UNDERSTUDY_IMAGES or
//   $XDG_CACHE_HOME/understudy/images):
//   - `mkfs.ext4` of an empty image, then one streamed debugfs script writes every entry straight from
//     its store object plus the sandbox-only edits (debugfs-populate.ts), then the map's mode, owner,
//     ns mtime and link counts are stamped into the inodes (ext4-stamp.ts);
//   - a map whose names debugfs cannot carry (CR/LF) goes through a hardlink checkout (image-tree.ts)
//     + the edits + `mkfs.ext4 -d`, one debugfs run for the xattrs, device nodes (when not root) and
//     the edits' owners (checkout-finish.ts), and the same stamping. Not root, a device node with a line
//     break in its own name is the one thing it cannot build: a clear error says to run as root.
//   The store's objects are only ever read (or linked to);
//   the kernel and initrd are copied out of the store next to root.img;
//   per run: a qcow2 overlay on the base (the base is never written) and a tiny seed disk holding the
//   run's SSH public key, installed by the sandbox's seed unit at boot (see sandbox-edits.ts; the unit
//   runs as root and installs the key as root's, whoever owns it on the seed disk).
// Several host filesystems (/boot apart ...) are one tree in the map, so they land merged on one disk,
// whose filesystem has the host root's UUID when map1 names it (root-uuid.ts).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Manifest } from '../../core/domain/manifest.ts';
import { contentIdOf, loadMap } from '../store/map-store.ts';
import { writeEntryContent } from '../restore/restore-map.ts';
import { applyEditsToTree, planSandboxEdits, SANDBOX_UNIT_ARGS, type EditPlan } from './sandbox-edits.ts';
import { populateWithDebugfs } from './debugfs-populate.ts';
import { checkoutImageTree } from './image-tree.ts';
import { devicesNeedingRoot, finishCheckoutImage } from './checkout-finish.ts';
import { stampMapMetadata } from './ext4-stamp.ts';
import { writeOwnerFile } from '../local/process-owner.ts';
import { bootEntries, checkMapBootable, selectKernel } from './kernel-select.ts';
import { hostRootUuid } from './root-uuid.ts';

const run = promisify(execFile);

/** The sandbox's kernel arguments: its one merged root disk, the serial console, eth0 for the DHCP unit,
 *  the units it needs and no periodic jobs (sandbox-edits.ts SANDBOX_UNIT_ARGS). */
export const SANDBOX_CMDLINE = `root=/dev/vda rw console=ttyS0 net.ifnames=0 ${SANDBOX_UNIT_ARGS}`;

export interface BaseImage { dir: string; rootImg: string; kernel: string; initrd?: string; cmdline: string; cached: boolean; seconds: number }

export function imageCacheRoot(): string {
  return process.env.UNDERSTUDY_IMAGES ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'understudy', 'images');
}

/** Room for the upgrade: the map's content + 30 % + 768 MiB, at least 1 GiB. */
export function diskSizeMiB(m: Manifest): number {
  let bytes = 0;
  for (const e of m.entries) bytes += e.type === 'file' ? e.size : 4096;
  return Math.max(1024, Math.ceil((bytes * 1.3) / (1 << 20)) + 768);
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** mkfs.ext4 of the image, empty or (with `tree`) filled from a tree; the root directory owned by root;
 *  with the host's root filesystem UUID when it is known (root-uuid.ts says why). */
async function mkfs(img: string, sizeMiB: number, tree?: string, uuid?: string): Promise<void> {
  await run('mkfs.ext4', ['-q', '-F', ...(tree ? ['-d', tree] : []), ...(uuid ? ['-U', uuid] : []), '-E', 'root_owner=0:0',
    '-L', 'understudy-sb', img, `${sizeMiB}M`], { maxBuffer: 16 << 20 });
}

/** `rm -rf`: a tree of thousands of entries goes several times faster than with fs.rm. */
async function removeTree(path: string): Promise<void> {
  await run('rm', ['-rf', '--one-file-system', '--', path]).catch(() => rm(path, { recursive: true, force: true }));
}

/** The map straight into the image by debugfs, else (a map debugfs cannot be told) via a checkout tree. */
async function buildRootImage(store: string, manifest: Manifest, plan: EditPlan, stage: string, img: string, signal?: AbortSignal): Promise<void> {
  const size = diskSizeMiB(manifest);
  const uuid = await hostRootUuid(store, manifest);
  await mkfs(img, size, undefined, uuid);
  if (!await populateWithDebugfs(store, manifest, plan, img, stage, signal)) {
    const asRoot = isRoot();
    const devices = asRoot ? [] : devicesNeedingRoot(manifest);
    if (devices.length) {
      throw new UnderstudyError('usage', `the sandbox disk needs root for device node(s) ${devices.slice(0, 3).join(', ')}` +
        `${devices.length > 3 ? ` (and ${devices.length - 3} more)` : ''}: a line break in its name or a device number ` +
        'above 65535 is beyond debugfs, and mknod needs root; run rehearse as root');
    }
    const tree = join(stage, 'tree');
    await checkoutImageTree(store, manifest, tree, asRoot);
    await applyEditsToTree(tree, plan);
    await mkfs(img, size, tree, uuid);
    await removeTree(tree);
    await finishCheckoutImage(img, manifest, plan, stage, !asRoot, signal);
  }
  stampMapMetadata(img, manifest.entries, plan.touched);
}

/** root.img (and the map's kernel/initrd unless overridden) into `out`; `stage` is scratch space. */
async function buildImage(store: string, id: string, manifest: Manifest, stage: string, out: string, withKernel: boolean,
  signal?: AbortSignal): Promise<void> {
  const plan = planSandboxEdits(manifest);
  // The kernel and initrd come straight from the store, alongside the rest.
  const boot = withKernel ? bootEntries(manifest, id) : undefined;
  const kernelCopy = boot ? Promise.all([writeEntryContent(store, boot.kernel, join(out, 'vmlinuz')),
    writeEntryContent(store, boot.initrd, join(out, 'initrd.img'))]) : Promise.resolve();
  kernelCopy.catch(() => undefined); // awaited below
  try {
    await buildRootImage(store, manifest, plan, stage, join(out, 'root.img'), signal);
  } finally {
    await kernelCopy.catch(() => undefined);
  }
  await kernelCopy;
}

/** The cached base image for a map, built on first use. `override` = --kernel/--initrd. */
export async function baseImageFor(store: string, mapRef: string, override?: { kernel?: string; initrd?: string },
  signal?: AbortSignal): Promise<BaseImage> {
  const started = Date.now();
  const { id, manifest } = await loadMap(store, mapRef);
  // Keyed by the content id (not the map id, which includes the host and capture time): an unchanged
  // host captured again, and a clone with the identical tree, re-use it. The edits are part of the key:
  // a change to them (a newer understudy) builds the disk anew.
  const plan = planSandboxEdits(manifest);
  const key = createHash('sha256').update(contentIdOf(manifest)).update(JSON.stringify(plan.ops)).digest('hex');
  const dir = join(imageCacheRoot(), `sandbox-${key.slice(0, 24)}`);
  const cmdline = SANDBOX_CMDLINE;
  const done = (cached: boolean): BaseImage => {
    const kernel = override?.kernel ?? join(dir, 'vmlinuz');
    const initrd = override?.kernel ? override.initrd : (existsSync(join(dir, 'initrd.img')) ? join(dir, 'initrd.img') : undefined);
    return { dir, rootImg: join(dir, 'root.img'), kernel, initrd, cmdline, cached, seconds: (Date.now() - started) / 1000 };
  };
  const usable = () => existsSync(join(dir, 'root.img')) && (override?.kernel !== undefined || existsSync(join(dir, 'vmlinuz')));
  // runs side by side (a batch of identical hosts, the server) wait for one build of the same image
  for (let inFlight = building.get(dir); inFlight && !usable(); inFlight = building.get(dir)) {
    const stop = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([inFlight.catch(() => undefined), stop]);
    if (signal?.aborted) throw new UnderstudyError('cancelled', 'disk build cancelled');
  }
  if (usable()) {
    if (override?.kernel) await selectKernel('', id, override);
    return done(true);
  }
  const build = buildBaseImage(store, id, manifest, dir, usable, override, signal);
  building.set(dir, build);
  try { await build; } finally { if (building.get(dir) === build) building.delete(dir); }
  return done(false);
}

/** Builds of base images in flight in this process, by image dir. */
const building = new Map<string, Promise<void>>();

async function buildBaseImage(store: string, id: string, manifest: Manifest, dir: string, usable: () => boolean,
  override: { kernel?: string; initrd?: string } | undefined, signal?: AbortSignal): Promise<void> {
  if (override?.kernel || override?.initrd) await selectKernel('', id, override); // checks the files
  else checkMapBootable(manifest, id);
  await mkdir(imageCacheRoot(), { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw new UnderstudyError('usage', `the sandbox image cache ${imageCacheRoot()} cannot be created (${e.code}): ` +
      'set UNDERSTUDY_IMAGES (or XDG_CACHE_HOME) to a directory this user can write');
  });
  // Built next to its final place and renamed in whole: a crash never leaves a half image in the cache.
  const stage = await mkdtemp(join(imageCacheRoot(), `.sandbox-${id.slice(0, 12)}-`));
  try {
    writeOwnerFile(stage); // a build killed midway is removed by the next start (stale-files.ts)
    const out = join(stage, 'image');
    await mkdir(out);
    try {
      await buildImage(store, id, manifest, stage, out, !override?.kernel, signal);
    } catch (e) {
      throw signal?.aborted ? new UnderstudyError('cancelled', 'disk build cancelled') : e;
    }
    if (signal?.aborted) throw new UnderstudyError('cancelled', 'disk build cancelled');
    await writeFile(join(out, 'map'), id + '\n');
    // another process may have finished the same image meanwhile, and its sandboxes use it: keep that one
    if (!usable()) {
      await rm(dir, { recursive: true, force: true });
      await rename(out, dir);
    }
  } finally {
    await removeTree(stage);
  }
}

/** Per-run disks in `workDir`: a qcow2 overlay on the base, and the seed disk with the SSH public key. */
export async function runDisks(base: BaseImage, workDir: string, publicKey: string): Promise<{ overlay: string; seed: string }> {
  const overlay = await overlayDisk(base.rootImg, workDir);
  return { overlay, seed: await seedDisk(workDir, publicKey) };
}

/**
 * A qcow2 overlay in `workDir` on `backing`. With `backingSize` the backing file need not exist here (it is
 * the path on a pool member; qemu-img records it without opening it).
 */
export async function overlayDisk(backing: string, workDir: string, backingSize?: number): Promise<string> {
  const overlay = join(workDir, 'root.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', backing,
    ...(backingSize === undefined ? [overlay] : ['-u', overlay, String(backingSize)])]);
  return overlay;
}

/** The seed disk (ext4, 4 MiB) holding the run's SSH public key as authorized_keys. */
export async function seedDisk(workDir: string, publicKey: string): Promise<string> {
  const seedTree = join(workDir, 'seed');
  await mkdir(seedTree);
  await writeFile(join(seedTree, 'authorized_keys'), publicKey.trim() + '\n', { mode: 0o600 });
  const seed = join(workDir, 'seed.img');
  await run('mkfs.ext4', ['-q', '-F', '-d', seedTree, '-L', 'understudy-seed', seed, '4M']);
  await rm(seedTree, { recursive: true, force: true });
  return seed;
}
