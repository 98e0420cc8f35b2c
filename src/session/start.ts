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

/** session_start() for a backend: {@link chooseSessionId} with its strict mode, then its open(). */
export async function startSession<H>(
  backend: Pick<SessionBackend, 'isValidId' | 'exists' | 'createId' | 'settings'> & { open(id: string, options?: OpenOptions): Promise<H> },
  candidate: string | null | undefined,
  options: OpenOptions = {},
): Promise<H> {
  const chosen = await chooseSessionId(backend, candidate, backend.settings.useStrictMode);
  return backend.open(chosen.id, options);
}
