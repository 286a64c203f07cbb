/** Lists the failed tests of a TAP file: one block of lines (name, location, error) per failed test. */
export function tapFailures(text: string, maxErrorLines?: number): string[];
