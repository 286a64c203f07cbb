// Streaming sha256 of a file with one reusable buffer: never the whole file in memory.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK = 1 << 20;

/** A read buffer to reuse across files: a fresh 1 MiB buffer per file costs page faults, not hashing. */
export const newHashBuffer = (): Buffer => Buffer.allocUnsafe(CHUNK);

export async function sha256File(path: string | Buffer, onBytes?: (n: number) => void, buf: Buffer = newHashBuffer()): Promise<{ sha256: string; size: number }> {
  const fh = await open(path, 'r');
  const hash = createHash('sha256');
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
      onBytes?.(bytesRead);
    }
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest('hex'), size };
}
