// Builds a map's sandbox base image in this process, for a test that runs it as another (non-root) user:
// `node --import tsx build-base-image.ts STORE MAP` prints the BaseImage as JSON; an error's message
// goes to stderr with exit status 1. The image cache comes from the environment, as for the CLI.
import { baseImageFor } from '../../../main/adapters/sandbox/disk-build.ts';

const [store, map] = process.argv.slice(2);
try {
  process.stdout.write(JSON.stringify(await baseImageFor(store!, map!)) + '\n');
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
}
