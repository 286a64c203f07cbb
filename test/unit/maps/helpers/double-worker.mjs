// Worker for the worker-pool tests: answers each batch of numbers with their doubles, after `delayMs`.
import { parentPort, workerData } from 'node:worker_threads';

parentPort.on('message', (jobs) => {
  setTimeout(() => parentPort.postMessage(jobs.map((n) => n * 2)), workerData?.delayMs ?? 0);
});
