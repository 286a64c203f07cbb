// Where vm-images/build.sh put the demo images, and building them on demand (tests, `npm start`).
//   const host = await demoHostImage({ build: true })  -> { dir, rootImg, kernel, initrd, privateKeyPath, tree }
//   const mirror = await mirrorImage({ build: true })  -> { dir }  (flat apt repo: Packages, hello-service_*.deb)
// build.sh names each image by a hash of its recipe, so an edited recipe means a rebuild, never a stale image.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { UnderstudyError } from '../../core/domain/errors.ts';

const run = promisify(execFile);
export const BUILD_SCRIPT = fileURLToPath(new URL('../../../vm-images/build.sh', import.meta.url));

export interface DemoHostImage {
  dir: string;
  /** Raw ext4 disk (use it as the backing file of a qcow2 overlay, never write it). */
  rootImg: string;
  kernel: string;
  initrd: string;
  /** root's login key (ed25519, OpenSSH format). */
  privateKeyPath: string;
  /** The same files as a directory, for `dir:` targets. Read-only by convention. */
  tree: string;
  cmdline: string;
}

type ImageName = 'demo-host' | 'mirror' | 'stock-host';

/** The image's cache dir, building it first when asked to (needs root) and it is missing. */
export async function imageDir(name: ImageName, o: { build?: boolean } = {}): Promise<string> {
  const path = async () => {
    try {
      return { dir: (await run('bash', [BUILD_SCRIPT, 'path', name])).stdout.trim(), built: true };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      if (err.code === 3 && err.stdout) return { dir: err.stdout.trim(), built: false };
      throw new UnderstudyError('io', `vm-images/build.sh path ${name}: ${err.stderr ?? String(e)}`);
    }
  };
  let p = await path();
  if (!p.built && o.build) {
    try {
      await run('bash', [BUILD_SCRIPT, name], { maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
      throw new UnderstudyError('io', `building image ${name} failed: ${(e as { stderr?: string }).stderr ?? String(e)}`);
    }
    p = await path();
  }
  if (!p.built) throw new UnderstudyError('io', `image ${name} is not built; run: bash vm-images/build.sh ${name}`);
  return p.dir;
}

/**
 * `quiet`: every console byte is an emulated UART write, and under TCG the kernel's boot log alone cost
 * ~20 s of a ~45 s kernel phase (measured on a loaded 2-core host). Errors and panics still reach the console.
 */
export const DEMO_HOST_CMDLINE = 'root=/dev/vda rw console=ttyS0 quiet';

export async function demoHostImage(o: { build?: boolean } = {}): Promise<DemoHostImage> {
  const dir = await imageDir('demo-host', o);
  return {
    dir, rootImg: join(dir, 'root.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'),
    privateKeyPath: join(dir, 'id_ed25519'), tree: join(dir, 'tree'), cmdline: DEMO_HOST_CMDLINE,
  };
}

/**
 * The demo host's only apt source (vm-images/demo-host/build.sh writes it): a name under the reserved
 * .invalid domain, so it resolves nowhere. Like a real host's repository it is reached through understudy's
 * proxy, which answers it from the mirror image (--mirror DIR).
 */
export const DEMO_REPO_URI = 'http://demo-repo.understudy.invalid/';

/** vm-images/stock-host: a stock Debian 12 server (real archive sources, no dbus, cron; root's key). */
export type StockHostImage = Omit<DemoHostImage, 'tree'>;

export async function stockHostImage(o: { build?: boolean } = {}): Promise<StockHostImage> {
  const dir = await imageDir('stock-host', o);
  return {
    dir, rootImg: join(dir, 'root.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'),
    privateKeyPath: join(dir, 'id_ed25519'), cmdline: DEMO_HOST_CMDLINE,
  };
}

export async function mirrorImage(o: { build?: boolean } = {}): Promise<{ dir: string }> {
  return { dir: await imageDir('mirror', o) };
}
