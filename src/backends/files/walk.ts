/**
 * PHP's save_path tree as the shared walk sees it: `sess_<id>` files at depth N. The file
 * store's walkSessionFiles (strict, valid ids), the admin commands' listings (the same) and
 * gc (every `sess_*` at the right depth, as PHP's own gc) all use it. Loads nothing heavy (no
 * node:crypto, no flock addon).
 */
import { isValidSessionId } from '../../session/session-id.js';
import { walkTree, type FoundFile, type TreeWalkOptions } from '../shared/file-io/walk.js';

export { nameShard, type FoundFile } from '../shared/file-io/walk.js';

export interface SessionTreeWalkOptions extends Omit<TreeWalkOptions, 'idOf' | 'oneCharDirs'> {
  /** Only files whose directory matches the id's leading characters (where PHP would look). */
  strictPlacement?: boolean;
  /** Only names that are valid ids for this depth (`[A-Za-z0-9,-]`, longer than depth). */
  validIdsOnly?: boolean;
}

/** PHP's mod_files names a session's file `sess_<id>`. */
export const SESSION_FILE_PREFIX = 'sess_';

/** Every regular `sess_*` file at exactly `depth` levels below `root` (see walkTree), `id` without `sess_`. */
export function walkSessionTree(root: string, options: SessionTreeWalkOptions): Generator<FoundFile> {
  const { strictPlacement, validIdsOnly, depth } = options;
  return walkTree(root, {
    ...options,
    oneCharDirs: strictPlacement,
    idOf: (name, placement) => {
      if (!name.startsWith(SESSION_FILE_PREFIX)) return null;
      const id = name.slice(SESSION_FILE_PREFIX.length);
      if (validIdsOnly && !isValidSessionId(id, depth)) return null;
      if (strictPlacement && !id.startsWith(placement)) return null;
      return id;
    },
  });
}
