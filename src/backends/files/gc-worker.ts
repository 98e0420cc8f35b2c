/** Worker-thread side of a parallel gc: runs gcShard on its share and posts the counts. */
import { parentPort, workerData } from 'node:worker_threads';
import { gcShard, type GcOutcome, type GcShardTask } from './gc.js';

const { task, abortFlag } = workerData as { task: GcShardTask; abortFlag: Int32Array };
const port = parentPort!;
let batch: [string, GcOutcome, string | undefined][] = [];
const flush = () => {
  if (batch.length > 0) port.postMessage({ type: 'files', items: batch });
  batch = [];
};
try {
  const counts = gcShard(task, {
    progress: (counts) => {
      flush();
      port.postMessage({ type: 'progress', counts });
    },
    file: (path, outcome, detail) => {
      batch.push([path, outcome, detail]);
      if (batch.length >= 512) flush();
    },
    error: (path, message) => port.postMessage({ type: 'error', path, message }),
    aborted: () => Atomics.load(abortFlag, 0) === 1,
  });
  flush();
  port.postMessage({ type: 'done', counts });
} catch (err) {
  port.postMessage({ type: 'crash', message: (err as Error)?.message ?? String(err) });
}
