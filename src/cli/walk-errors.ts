/**
 * Problems met while walking the sessions, one line each on stderr — except permission errors,
 * which usually hit every file at once (sessctl run as the wrong user): the first few are
 * shown with one hint to run as PHP's user, the rest are only counted, and the count is
 * printed when the process ends.
 */
import { escapeText } from './escape.js';

const SHOWN = 3;
let permissionErrors = 0;

const isPermission = (message: string) => /\b(EACCES|EPERM)\b/.test(message);

/** Prints `message` (already naming `location`) as one `sessctl:` line, folding permission errors. */
export function reportWalkProblem(_location: string, message: string): void {
  if (!isPermission(message)) {
    process.stderr.write(`sessctl: ${escapeText(message)}\n`);
    return;
  }
  permissionErrors++;
  if (permissionErrors <= SHOWN) process.stderr.write(`sessctl: ${escapeText(message)}\n`);
  if (permissionErrors === 1) {
    const uid = process.getuid?.();
    process.stderr.write(
      `sessctl: hint: permission denied — run sessctl as the user PHP runs as (the owner of the session files, e.g. \`sudo -u www-data sessctl …\`) or as root` +
        `${uid !== undefined ? ` (now uid ${uid})` : ''}\n`,
    );
    process.once('exit', () => {
      if (permissionErrors > SHOWN) process.stderr.write(`sessctl: … and ${permissionErrors - SHOWN} more permission errors (EACCES/EPERM) not shown\n`);
    });
  }
}
