/**
 * The open-session handle both SQL session tables share (Laravel's `sessions`, Symfony's
 * PdoSessionHandler table): the row is locked on a connection of its own from open until
 * close(), every write goes through that connection, and close() commits only when something
 * was written (a handle closed unsaved rolls back, so a row inserted just to lock it goes too).
 * How a row is written, deleted and unlocked is each table's own (the abstract members).
 */
import { SessctlError } from '../../errors.js';
import type { PhpArray } from '../../codec/values.js';
import { saveThenClose, type SessionHandle } from '../../session/contract.js';
import type { SqlConnection } from './sql.js';

/** A row locked on its own connection; `id` follows regenerateId(). */
export interface LockedSqlRow {
  conn: SqlConnection;
  id: string;
}

export abstract class LockedRowHandle<L extends LockedSqlRow> implements SessionHandle {
  #locked: L | null;
  #id: string;
  #isNew: boolean;
  #saved = false;
  data: PhpArray;

  protected constructor(locked: L, isNew: boolean, data: PhpArray) {
    this.#locked = locked;
    this.#id = locked.id;
    this.#isNew = isNew;
    this.data = data;
  }

  /** The row for messages: `table:id`, with the database where the table says it. */
  protected abstract where(id: string): string;
  protected abstract deleteRow(conn: SqlConnection, id: string): Promise<void>;
  /** Commits when `commit` (else rolls back), unlocks and gives the connection back. */
  protected abstract unlock(locked: L, commit: boolean): Promise<void>;

  abstract save(data?: PhpArray): Promise<void>;
  abstract regenerateId(deleteOld?: boolean): Promise<string>;

  get id(): string {
    return this.#id;
  }
  get isNew(): boolean {
    return this.#isNew;
  }
  /** The locked row as the table handed it over (null once closed). */
  protected get lockedRow(): L | null {
    return this.#locked;
  }

  /** The locked row. @throws SessctlError ECLOSED once the lock was released. */
  protected requireOpen(): L {
    if (!this.#locked) throw new SessctlError(`${this.where(this.#id)}: the session handle is closed (its lock was released)`, 'ECLOSED');
    return this.#locked;
  }

  /** Something was written: close() commits. */
  protected markSaved(): void {
    this.#saved = true;
  }

  /** After regenerateId() wrote the data under `next` (inside the same lock). */
  protected movedTo(locked: L, next: string): void {
    this.#saved = true;
    this.#id = next;
    locked.id = next;
    this.#isNew = true;
  }

  /** save() then close(); the lock is released on every path. */
  saveAndClose(data?: PhpArray): Promise<void> {
    return saveThenClose(this, data);
  }

  /** Commits what save() wrote (rolls back when nothing was saved) and releases the lock. */
  async close(): Promise<void> {
    const locked = this.#locked;
    this.#locked = null;
    if (locked) await this.unlock(locked, this.#saved);
  }

  async destroy(): Promise<void> {
    const locked = this.requireOpen();
    await this.deleteRow(locked.conn, this.#id);
    this.#saved = true;
    await this.close();
  }
}
