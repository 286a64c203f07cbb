// Follows the sandbox's serial console file while it boots and sends each new line to the run's log
// (stream 'serial'), so every face shows the console live. Polls: QEMU and libvirt both just append.
import { open, type FileHandle } from 'node:fs/promises';
import { lineSplitter } from './line-splitter.ts';

export function followSerial(file: string, emit: (line: string) => void, everyMs = 250): { stop(): Promise<void> } {
  let pos = 0;
  let fh: FileHandle | undefined;
  let stopped = false;
  const lines = lineSplitter(emit);
  const poll = async () => {
    try {
      fh ??= await open(file, 'r');
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (!bytesRead) break;
        pos += bytesRead;
        lines.push(buf.subarray(0, bytesRead).toString('utf8'));
      }
    } catch { /* not created yet */ }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = async () => { await poll(); if (!stopped) timer = setTimeout(loop, everyMs); };
  void loop();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await poll();
      lines.flush();
      await fh?.close().catch(() => undefined);
    },
  };
}
