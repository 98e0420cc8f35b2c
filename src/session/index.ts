/**
 * The backend-neutral session core: the contract every backend implements, the shared
 * php.ini settings, PHP's id rules and generation, and the admin contract.
 */
export { updateSession, type SessionBackend, type SessionHandle, type OpenOptions, type SessionUpdater, type CollectGarbageOptions } from './contract.js';
export { resolveSessionSettings, type SessionSettings, type ResolvedSessionSettings } from './settings.js';
export { isValidSessionId, assertValidSessionId, sessionIdFromBytes, SID_ALPHABET, MAX_SESSION_ID_LENGTH, type SidBitsPerCharacter, type SessionIdOptions } from './session-id.js';
export { generateSessionId, createUnusedId } from './new-session-id.js';
export { chooseSessionId, type ChosenId } from './start.js';
export {
  type AdminSource,
  type AdminSourceSettings,
  type AdminSerializeHandler,
  type SessionEntry,
  type EntriesOptions,
  type DestroyOutcome,
  type RewriteOutcome,
  type GcOptions,
  type GcReport,
  type GcOutcome,
} from './admin.js';
