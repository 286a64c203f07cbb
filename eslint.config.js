// Lint: mainly the layering rule. main/core is pure TypeScript: no Node built-ins, ssh2, electron or
// other I/O libraries, so the workflow can be unit-tested and reused by every face.
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['fs', 'path', 'child_process', 'net', 'os', 'crypto', 'http', 'https', 'stream', 'dgram',
  'dns', 'tls', 'worker_threads', 'cluster', 'readline', 'zlib', 'process', 'url', 'util', 'events', 'buffer',
  'timers', 'vm', 'v8', 'perf_hooks', 'module', 'assert', 'tty'];
const ioPackages = ['ssh2', 'electron', 'better-sqlite3', '@unraid/libvirt', 'ws', 'tar-stream', 'playwright-core'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'renderer/dist/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['main/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [...ioPackages],
        patterns: [
          { group: ['node:*'], message: 'main/core is pure: no Node built-ins (put I/O in main/adapters).' },
          ...nodeBuiltins.map((m) => ({ group: [m, `${m}/*`], message: 'main/core is pure: no Node built-ins.' })),
          { group: ['**/adapters/**', '**/app/**', '**/cli/**', '**/server/**'], message: 'core must not depend outward.' },
        ],
      }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', ...nodeBuiltins], message: 'renderer never uses Node APIs.' },
          { group: ['**/main/core/**', '**/main/adapters/**', '**/main/app/**'], message: 'renderer imports only main/contract.' },
        ],
      }],
    },
  },
);
