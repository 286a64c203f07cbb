// GRUB's configuration as GRUB reads it at boot: the menu of grub.cfg (entries and submenus, with their
// linux/initrd lines and the devices they search), grubenv's variables, and which entry the next boot
// takes (next_entry, else `set default`, with `${saved_entry}` from grubenv). Pure and line-based:
// grub-mkconfig's output (and hand-written configs of the same shape) is what it is built for; whatever it
// cannot read makes the caller fall back to the newest kernel and say so.

export interface GrubEntry {
  title: string;
  id?: string;
  /** The path `linux` names (as written, device prefix removed) and its arguments. */
  linux?: string;
  args: string[];
  initrds: string[];
  /** Filesystem UUIDs the entry searches for (`search --fs-uuid ... UUID`). */
  searchUuids: string[];
}

export interface GrubItem { kind: 'entry' | 'submenu'; title: string; id?: string; entry?: GrubEntry; items?: GrubItem[] }

export interface GrubMenu {
  items: GrubItem[];
  /** Every `set default=VALUE` outside menu entries, in order (unquoted). */
  defaults: string[];
}

/** Shell-like words of one line: '...' literal, "..." with backslash escapes, adjacent parts joined; # comments. */
export function grubWords(line: string): string[] {
  const words: string[] = [];
  let cur = '', inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      cur += end < 0 ? line.slice(i + 1) : line.slice(i + 1, end);
      i = end < 0 ? line.length : end;
      inWord = true;
    } else if (ch === '"') {
      i++;
      for (; i < line.length && line[i] !== '"'; i++) cur += line[i] === '\\' && i + 1 < line.length ? line[++i]! : line[i]!;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i]!;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else if (ch === '#' && !inWord) {
      break;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Title and id of a `menuentry`/`submenu` line: the first word after the keyword is the title. */
function header(words: string[]): { title: string; id?: string } {
  const title = words[1] ?? '';
  let id: string | undefined;
  for (let i = 2; i < words.length; i++) {
    const w = words[i]!;
    if (w === '$menuentry_id_option' || w === '${menuentry_id_option}' || w === '--id') id = words[i + 1];
    else if (w.startsWith('--id=')) id = w.slice(5);
  }
  return { title, ...(id ? { id } : {}) };
}

/** `(hd0,gpt2)/vmlinuz-X` -> `/vmlinuz-X`. */
const withoutDevice = (p: string): string => p.replace(/^\([^)]*\)/, '');

export function parseGrubMenu(text: string): GrubMenu {
  const root: GrubItem[] = [];
  const defaults: string[] = [];
  // every `{` opens a block; only menu blocks collect items or lines
  const stack: Array<{ kind: 'entry' | 'submenu' | 'other'; item?: GrubItem }> = [];
  const itemsHere = (): GrubItem[] => {
    for (let i = stack.length - 1; i >= 0; i--) {
      const b = stack[i]!;
      if (b.kind === 'submenu') return b.item!.items!;
      if (b.kind === 'entry') return [];
    }
    return root;
  };
  const currentEntry = (): GrubEntry | undefined => {
    for (let i = stack.length - 1; i >= 0; i--) if (stack[i]!.kind !== 'other') return stack[i]!.item?.entry;
    return undefined;
  };
  for (const raw of text.split('\n')) {
    const words = grubWords(raw.trim());
    if (!words.length) continue;
    const [cmd] = words as [string];
    const opens = words[words.length - 1] === '{';
    if ((cmd === 'menuentry' || cmd === 'submenu') && opens) {
      const h = header(words.slice(0, -1));
      const item: GrubItem = cmd === 'menuentry'
        ? { kind: 'entry', ...h, entry: { ...h, args: [], initrds: [], searchUuids: [] } }
        : { kind: 'submenu', ...h, items: [] };
      itemsHere().push(item);
      stack.push({ kind: item.kind, item });
      continue;
    }
    if (cmd === '}') { stack.pop(); continue; }
    const entry = currentEntry();
    if (opens) stack.push({ kind: 'other' });
    if (!entry) {
      if (cmd === 'set' && words[1]?.startsWith('default=')) defaults.push(words[1].slice('default='.length));
      continue;
    }
    if (/^linux(efi|16)?$/.test(cmd) && words[1]) {
      entry.linux = withoutDevice(words[1]);
      entry.args = words.slice(2);
    } else if (/^initrd(efi|16)?$/.test(cmd)) {
      entry.initrds = words.slice(1).map(withoutDevice);
    } else if (cmd === 'search' && words.some((w) => w === '--fs-uuid' || w === '-u')) {
      const last = words.filter((w) => !w.startsWith('-')).slice(1).pop();
      if (last) entry.searchUuids.push(last);
    }
  }
  return { items: root, defaults };
}

/** grubenv: `name=value` lines (the file is padded with '#'). */
export function parseGrubEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

export interface GrubDefault { entry?: GrubEntry; title: string; how: string }

/** The entry GRUB boots next, and why (a phrase for the operator). undefined: the menu has no entry. */
export function grubDefault(menu: GrubMenu, env: Record<string, string>): GrubDefault | undefined {
  let expr: string;
  let how: string;
  const plain = menu.defaults.filter((d) => d !== '${next_entry}');
  if (env.next_entry && menu.defaults.includes('${next_entry}')) {
    expr = env.next_entry;
    how = `grubenv next_entry=${expr} (a one-time choice)`;
  } else {
    const d = plain[plain.length - 1] ?? '0';
    if (d === '${saved_entry}') {
      expr = env.saved_entry || '0';
      how = env.saved_entry ? `GRUB_DEFAULT=saved, grubenv saved_entry=${expr}` : 'GRUB_DEFAULT=saved with no saved_entry: the first entry';
    } else {
      expr = d;
      how = `default=${d}`;
    }
  }
  const found = resolve(menu.items, expr.split('>'));
  if (found) return { entry: found.entry, title: found.title, how };
  const first = resolve(menu.items, ['0']);
  if (!first) return undefined;
  return { entry: first.entry, title: first.title, how: `${how} names no menu entry: GRUB falls back to the first` };
}

function resolve(items: GrubItem[], parts: string[]): GrubItem | undefined {
  const [part, ...rest] = parts;
  if (part === undefined) return undefined;
  const p = part.trim();
  const item = /^\d+$/.test(p) ? items[Number(p)] : items.find((i) => i.id === p) ?? items.find((i) => i.title === p);
  if (!item) return undefined;
  if (item.kind === 'entry') return rest.length ? undefined : item;
  // a submenu named last: GRUB opens it on its first entry
  return resolve(item.items ?? [], rest.length ? rest : ['0']);
}
