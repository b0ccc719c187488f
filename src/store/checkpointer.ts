// Moves SQLite WAL checkpoints off the event loop. The server's connection
// never checkpoints on its own (wal_autocheckpoint=0); a worker thread with its
// own connection checkpoints every half second, so the fsyncs a checkpoint
// needs never stall a request. Durability is unchanged: a commit is in the WAL
// before it is acknowledged either way. Reads no rows, never logs.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
let stopping = false;
const tick = () => {
  if (stopping) return;
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: the next tick retries */ }
  setTimeout(tick, workerData.intervalMs);
};
parentPort.on('message', () => { stopping = true; db.close(); parentPort.close(); });
tick();
`;

export class WalCheckpointer {
  private constructor(private readonly worker: Worker) {}

  static start(path: string, intervalMs = 500): WalCheckpointer {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver, intervalMs } });
    worker.unref();
    // A failing checkpointer must not take the server down; SQLite stays correct without it.
    worker.on('error', () => undefined);
    return new WalCheckpointer(worker);
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('stop');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    await this.worker.terminate();
  }
}
