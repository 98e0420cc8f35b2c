/**
 * session_start()'s choice of id, shared by every store's `start()` and the middleware:
 * no id, an id PHP would refuse, or (strict mode) an id with no session behind it, means
 * a new id; otherwise the client's id is used.
 */
import type { OpenOptions, SessionBackend } from './contract.js';

export interface ChosenId {
  id: string;
  /** True when the id was made here (the cookie must then be sent). */
  isNew: boolean;
}

/** @throws whatever `backend.exists` / `backend.createId` throw. */
export async function chooseSessionId(
  backend: Pick<SessionBackend, 'isValidId' | 'exists' | 'createId'>,
  candidate: string | null | undefined,
  useStrictMode: boolean,
): Promise<ChosenId> {
  if (typeof candidate === 'string' && backend.isValidId(candidate)) {
    // Strict mode: an id we never issued is not adopted (it may be an attacker's fixed id).
    if (!useStrictMode || (await backend.exists(candidate))) return { id: candidate, isNew: false };
  }
  return { id: await backend.createId(), isNew: true };
}

/**
 * session_start() for a backend: the client's id when usable (see openClientSession), else
 * a fresh one; `handle.isNew` tells which.
 */
export async function startSession<H>(
  backend: Pick<SessionBackend, 'isValidId' | 'exists' | 'createId' | 'settings'> & { open(id: string, options?: OpenOptions): Promise<H>; openExisting?(id: string, options?: OpenOptions): Promise<H | null> },
  candidate: string | null | undefined,
  options: OpenOptions = {},
): Promise<H> {
  return (await openClientSession(backend, candidate, backend.settings.useStrictMode, options)) ?? backend.open(await backend.createId(), options);
}

/**
 * session_start()'s first step for the id a client sent: its session opened (locked) when
 * that id is usable — valid, and with strict mode stored — else null (the caller then makes
 * a new id). Uses the backend's openExisting() when it has one: one round trip, not two.
 * @throws whatever the backend's open/openExisting/exists throw (DecodeError for a corrupt session).
 */
export function openClientSession<H>(
  backend: Pick<SessionBackend, 'isValidId' | 'exists'> & { open(id: string, options?: OpenOptions): Promise<H>; openExisting?(id: string, options?: OpenOptions): Promise<H | null> },
  candidate: string | null | undefined,
  useStrictMode: boolean,
  options: OpenOptions = {},
): Promise<H | null> {
  // Not an async function: it hands on the backend's own promise (this runs on every request,
  // and an async wrapper would add a promise and its ticks).
  try {
    if (typeof candidate !== 'string' || !backend.isValidId(candidate)) return Promise.resolve(null);
    if (!useStrictMode) return backend.open(candidate, options);
    if (backend.openExisting) return backend.openExisting(candidate, options);
  } catch (err) {
    return Promise.reject(err);
  }
  return openIfStored(backend, candidate, options);
}

/** For a backend without openExisting(): not stored means no session; stored, see openStored. */
async function openIfStored<H>(backend: Pick<SessionBackend, 'exists'> & { open(id: string, options?: OpenOptions): Promise<H> }, id: string, options: OpenOptions): Promise<H | null> {
  return (await backend.exists(id)) ? openStored(backend, id, options) : null;
}

/**
 * The session stored under `id`, opened (locked); null when none is stored once it is locked:
 * the backend's openExisting() where it has one. Otherwise open(), and a session that opens as
 * new — destroyed (logout, `sessctl destroy`) while we waited for its lock — is let go, what
 * open() created removed again (under our lock nothing else has written it since), rather than
 * written back under the old id.
 */
export async function openStored<H>(
  backend: { open(id: string, options?: OpenOptions): Promise<H>; openExisting?(id: string, options?: OpenOptions): Promise<H | null> },
  id: string,
  options: OpenOptions = {},
): Promise<H | null> {
  if (backend.openExisting) return backend.openExisting(id, options);
  const handle = await backend.open(id, options);
  const opened = handle as { isNew?: unknown; destroy?: () => Promise<void>; close?: () => Promise<void> };
  if (opened.isNew !== true || typeof opened.destroy !== 'function') return handle;
  await opened.destroy().catch(() => opened.close?.());
  return null;
}
