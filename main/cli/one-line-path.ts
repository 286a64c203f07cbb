// Paths in human output, one per line: a name may hold a newline or other control characters, shown
// escaped as \xNN (the JSON output keeps them exact).
const CONTROL = /[\x00-\x1f\x7f]/g;

export const oneLine = (p: string): string => p.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
