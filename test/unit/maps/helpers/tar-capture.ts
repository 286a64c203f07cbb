// Runs the ssh:// capture path (tar on the "host") through a LocalShell on this machine, as whoever runs
// this script: argv STORE ROOT. Prints the capture result and the map's exclusions as one JSON line.
import { captureRemote } from '../../../../main/adapters/capture/capture-remote.ts';
import { LocalShell } from '../../../../main/adapters/local/local-shell.ts';
import { loadMap } from '../../../../main/adapters/store/map-store.ts';

const [store, root] = process.argv.slice(2) as [string, string];
const shell = new LocalShell();
try {
  const result = await captureRemote({ store, target: 'ssh://test@tar-capture:22', shell, sudo: false, root });
  const { manifest } = await loadMap(store, result.map);
  console.log(JSON.stringify({ result, paths: manifest.entries.map((e) => e.path), excluded: manifest.excluded }));
} finally {
  await shell.close();
}
