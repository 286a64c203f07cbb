// The moment a sandbox boot counts from. capture2 and the record of the sandbox's own state list what the
// boot and the upgrade wrote with `find -newerct @START` inside the guest. Every inode of the base image
// got its ctime when the image was written here (whole seconds), and the guest clock starts from the RTC,
// also in whole seconds, so START is taken 2 s before the boot. An image written less than that before
// the boot (built just now) would then look changed in every path: 310 MiB "written by the boot" on a
// stock host, every file read again at capture2. So a boot first waits until the image is 2 s old.
import { stat } from 'node:fs/promises';

export const CLOCK_MARGIN_SECONDS = 2;

/** Waits (at most ~3 s, only for an image written just now) and returns START, epoch seconds. */
export async function bootStartAfter(rootImg: string, now: () => number = Date.now): Promise<number> {
  const written = Math.ceil((await stat(rootImg)).mtimeMs / 1000);
  const waitMs = (written + CLOCK_MARGIN_SECONDS) * 1000 - now();
  if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
  return now() / 1000 - CLOCK_MARGIN_SECONDS;
}
