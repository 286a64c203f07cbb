// Turns output chunks into whole lines (a chunk may end mid-line), so UIs and logs show one row per line.
export function lineSplitter(emit: (line: string) => void): { push(chunk: string): void; flush(): void } {
  let rest = '';
  return {
    push(chunk) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) emit(p.replace(/\r$/, ''));
    },
    flush() {
      if (rest) emit(rest);
      rest = '';
    },
  };
}
