/**
 * PHP's gc at session start (`session.gc_probability / session.gc_divisor`), made fit for a
 * server: drawn at session start as PHP draws it, but run after the response, in the
 * background, at most one collection per process at a time; a failure is reported to the
 * app (onError / logger), never to the client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SessctlError } from '../errors.js';
import type { GcReport } from '../session/admin.js';
import type { SessionBackend } from '../session/contract.js';
import { resolveSessionSettings } from '../session/settings.js';
import type { PhpSessionErrorInfo } from './options.js';

/**
 * PHP's draw (php_session_gc in session.c): collect when `floor(divisor × random) <
 * probability`, never when probability is 0; probability ≥ divisor is every time.
 */
export function gcDrawn(probability: number, divisor: number, random: () => number = Math.random): boolean {
  return probability > 0 && Math.floor(divisor * random()) < probability;
}

// On globalThis under a registered symbol, so that two copies of the package in one process
// (two versions in node_modules) still run one collection at a time between them.
const RUNNING = Symbol.for('sessctl.gcAtSessionStart.running');
type GcState = { [RUNNING]?: boolean };

/** What becomes of a collection: its report, and any problem (a failure, errors in the report). */
export interface GcOutcomeHooks {
  gc?: ((report: GcReport) => void) | undefined;
  problem(err: Error): void;
}

/**
 * Starts `backend.collectGarbage()` unless the backend has nothing to collect or a
 * collection is already running in this process (PHP would run a second one; a server
 * gains nothing from two walks of one tree). Returns whether it started one.
 */
export function collectInBackground(backend: SessionBackend, on: GcOutcomeHooks): boolean {
  const state = globalThis as GcState;
  if (typeof backend.collectGarbage !== 'function' || state[RUNNING]) return false;
  state[RUNNING] = true;
  Promise.resolve()
    .then(() => backend.collectGarbage!())
    .then(
      (report) => {
        if (report.errors > 0) {
          const first = report.errorSamples[0];
          const detail = first ? ` (first: ${first.path}: ${first.message})` : '';
          on.problem(new SessctlError(`gc of ${report.savePath}: ${report.errors} error(s)${detail}`, 'EGC'));
        }
        on.gc?.(report);
      },
      (err: unknown) => on.problem(err instanceof Error ? err : new Error(String(err))),
    )
    .catch(() => undefined) // a throwing hook must not become an unhandled rejection
    .finally(() => {
      state[RUNNING] = false;
    });
  return true;
}

/** The gc pair for a middleware or Store: given, else the backend's, validated as php.ini's. */
export function resolveGcOptions(given: { gcProbability?: number; gcDivisor?: number }, backend: SessionBackend, who: string): { gcProbability: number; gcDivisor: number } {
  const { gcProbability, gcDivisor } = resolveSessionSettings(
    { gcProbability: given.gcProbability ?? backend.settings?.gcProbability, gcDivisor: given.gcDivisor ?? backend.settings?.gcDivisor },
    who,
  );
  return { gcProbability, gcDivisor };
}

/** The middleware's resolved gc settings. */
export interface GcTrigger {
  backend: SessionBackend;
  gcProbability: number;
  gcDivisor: number;
  onGc: ((report: GcReport) => void) | undefined;
}

/**
 * At a session start: draws, and when drawn starts a collection once the response is done
 * ('close' follows 'finish', and also comes when the client went away).
 */
export function gcAfterResponse(req: IncomingMessage, res: ServerResponse, t: GcTrigger, problem: (err: Error, info: PhpSessionErrorInfo) => void): void {
  if (!gcDrawn(t.gcProbability, t.gcDivisor)) return;
  res.once('close', () => collectInBackground(t.backend, { gc: t.onGc, problem: (err) => problem(err, { phase: 'gc', req }) }));
}
