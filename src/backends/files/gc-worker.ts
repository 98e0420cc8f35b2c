/**
 * Worker-thread side of a gc run off the main thread: waits for tasks (one at a time), runs
 * gcShard on each and posts its counts. The thread is kept between runs (see gc.ts), so a
 * server that collects at session start pays for starting a thread once, not per collection.
 */
import { parentPort } from 'node:worker_threads';
import { gcShard, type GcOutcome, type GcShardTask } from './gc.js';

const port = parentPort!;

function run(task: GcShardTask, abortFlag: Int32Array): void {
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
}

port.on('message', (m: { task: GcShardTask; abortFlag: Int32Array }) => run(m.task, m.abortFlag));
