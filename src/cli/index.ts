/**
 * The `sessctl` command line: commander parsing and printing only; every command's logic
 * is in src/admin. Each command's module is imported when that command runs, so that
 * `sessctl inspect` does not load gc's worker code, the flock addon or the Redis client.
 */
import { Command, CommanderError, Option } from 'commander';
import { SavePathError, SessctlError } from '../errors.js';
import { redactSecrets } from '../session/redact.js';
import { escapeText } from './escape.js';

/** Exit codes: 0 success, 1 some items failed, 2 usage or configuration error. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const USAGE_CODES = new Set(['ECONFIG', 'EINVALIDID', 'ENOLOCK', 'ESAVEPATH']);

/** Options shared by every command that looks at sessions. */
export interface CommonOptions {
  savePath?: string;
  serializeHandler?: string;
  saveHandler?: string;
  maxlifetime?: string;
  phpIni?: string;
  php?: boolean;
  ini?: string[];
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
  /** Stay root instead of becoming the save path's owner. */
  asRoot?: boolean;
  /** `--framework laravel|symfony --app PATH [--session-handler pdo|redis|native]`. */
  framework?: string;
  /** Laravel: config('app.cipher'). */
  cipher?: string;
  app?: string;
  sessionHandler?: string;
  /** `--session-encrypt` / `--no-session-encrypt` (Laravel's `'encrypt'`); undefined = SESSION_ENCRYPT. */
  sessionEncrypt?: boolean;
}

function addSettings(cmd: Command, withMaxlifetime: boolean): Command {
  cmd
    .option('--save-path <path>', 'session.save_path ("/path", "N;/path" or "N;MODE;/path"; redis: "tcp://host:6379?prefix=…"; memcached: "host:11211,…")')
    .addOption(new Option('--serialize-handler <name>', 'session.serialize_handler (auto = detect per session)').choices(['php', 'php_serialize', 'php_binary', 'igbinary', 'msgpack', 'auto']))
    .option('--save-handler <name>', 'session.save_handler (files, redis, rediscluster, memcached, laravel-files, symfony-redis, …)')
    .option('--ini <directive=value>', "a backend's own directive, e.g. memcached.sess_prefix=app. (repeatable)", (v: string, all: string[] = []) => [...all, v]);
  if (withMaxlifetime) cmd.option('--maxlifetime <seconds>', 'session.gc_maxlifetime, seconds or a duration like 24m');
  return cmd
    .option('--php-ini <file>', 'read settings from this php.ini (and its conf.d / PHP_INI_SCAN_DIR)')
    .option('--no-php', 'do not ask the php binary for its settings')
    .option('--as-root', "as root, do not switch to the files save path's owner (the default is to act as that user)")
    .option('--debug', 'show stack traces on errors');
}

/** The app a command works on: its `.env` gives the settings (flags still win). See docs/cli.md "Framework apps". */
function addFrameworkOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--framework <name>', "read a framework app's session settings from its .env").choices(['laravel', 'symfony']))
    .option('--app <path>', 'the app directory for --framework (default: the current directory)')
    .addOption(new Option('--session-handler <kind>', 'Symfony: the storage when DATABASE_URL and REDIS_URL are both set').choices(['pdo', 'redis', 'native']))
    .option('--session-encrypt', "Laravel: the app stores sessions encrypted with APP_KEY ('encrypt' => true; default: SESSION_ENCRYPT from .env)")
    .option('--no-session-encrypt', 'Laravel: the stored sessions are not encrypted, whatever SESSION_ENCRYPT says')
    .option('--cipher <name>', "Laravel: config('app.cipher') when it is not AES-256-CBC (AES-128-CBC, AES-128-GCM, AES-256-GCM), for encrypted sessions and --cookie");
}

function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Runner = (opts: any, args: string[]) => Promise<number | void>;

/** Wraps a lazily imported command module's `run`. */
function lazy(load: () => Promise<{ run: Runner }>) {
  return async (...actionArgs: unknown[]) => {
    const cmd = actionArgs[actionArgs.length - 1] as Command;
    // The framework options may come before the command name (`sessctl --framework laravel --app . list`).
    const opts = cmd.optsWithGlobals() as CommonOptions & Record<string, unknown>;
    const positional = actionArgs.slice(0, -2).flat() as string[];
    const { run } = await load();
    const code = await run(opts, positional);
    if (typeof code === 'number' && code !== 0) process.exitCode = code;
  };
}

/** Builds the program (exported for tests and help generation). */
export function buildProgram(): Command {
  const program = new Command('sessctl')
    .description('Inspect, list, clean up and convert PHP sessions — byte-exact with PHP, with its locking.')
    .version('0.1.0', '-V, --version')
    // commander's own messages quote what was typed (an unknown option, a bad choice): escaped
    // like everything else, line by line.
    .configureOutput({ outputError: (str, write) => write(`sessctl: ${str.replace(/^error: /, '').split('\n').map((line) => escapeText(line)).join('\n')}`) })
    .exitOverride()
    // `sessctl list --help` shows the options given before the command name too (--framework, --app…).
    .configureHelp({ showGlobalOptions: true });
  addFrameworkOptions(program);
  example(
    program,
    'sessctl list --save-path "2;/var/lib/php/sessions" --older-than 1h',
    'sessctl gc --quiet',
    "sessctl --framework laravel --app /srv/app destroy --where 'auth.user == 42' --all-matching",
    'sessctl <command> --help',
  );

  const add = (name: string, description: string, withMaxlifetime: boolean) => {
    const cmd = program.command(name).description(description).exitOverride();
    addSettings(cmd, withMaxlifetime);
    return cmd;
  };

  example(
    add('list', 'one row per session: id, size, modified, age, expires in, handler, keys', true)
      .option('--older-than <duration>', 'only sessions older than this (90s, 24m, 2h, 7d)')
      .option('--newer-than <duration>', 'only sessions newer than this')
      .option('--where <expr>', "only sessions whose content matches, e.g. 'user.id == 42' (see docs/cli.md)")
      .addOption(new Option('--sort <key>', 'sort (holds every row in memory)').choices(['id', 'size', 'mtime', 'age']))
      .option('--reverse', 'reverse the sort order')
      .option('--limit <n>', 'at most n rows')
      .option('--no-decode', 'do not decode (faster; no handler / keys columns)')
      .option('--json', 'one JSON array')
      .option('--ndjson', 'one JSON object a line, streamed'),
    'sessctl list --save-path /var/lib/php/sessions --older-than 2h --sort size --reverse --limit 20',
    'sessctl list --ndjson | jq -r "select(.keys == 0) | .id"',
    "sessctl list --where 'user.id == 42 and login_web_* exists'",
  ).action(lazy(() => import('./commands/list.js')));

  example(
    add('inspect', 'show one session decoded, as a tree', true)
      .argument('[id]', 'session id (or give --cookie)')
      .option('--cookie <value>', "the session cookie as the browser holds it (Laravel: decrypted with APP_KEY; else the id itself)")
      .option('--full', 'show long strings whole')
      .option('--json', 'print the plain JSON view')
      .option('--raw', 'print the stored bytes as they are'),
    'sessctl inspect 3v1kq8d2h6c1mbq0n7l5s9r4tf --save-path /var/lib/php/sessions',
    'sessctl inspect 3v1kq8d2h6c1mbq0n7l5s9r4tf --json | jq .user',
    "sessctl --framework laravel --app /srv/app inspect --cookie 'eyJpdiI6…%3D'",
  ).action(lazy(() => import('./commands/inspect.js')));

  example(
    add('gc', "delete expired session files like PHP's gc, at any depth, skipping sessions in use", true)
      .option('--dry-run', 'list what would be deleted, delete nothing')
      .option('--jobs <n>', 'parallel walkers (default: 2 on multi-core machines)')
      .option('--system', "every save path of every PHP on this machine (each SAPI's php.ini and conf.d, every FPM pool), each with its longest lifetime: a drop-in for phpsessionclean")
      .option('--system-root <dir>', 'look for etc/php under this directory instead of / (or SESSCTL_SYSTEM_ROOT)')
      .option('--metrics-file <path>', 'write Prometheus metrics there, atomically (node_exporter textfile collector)')
      .option('--json', 'print a machine-readable report')
      .option('-q, --quiet', 'print only errors'),
    'sessctl gc --save-path "2;/var/lib/php/sessions" --maxlifetime 1440',
    'sessctl gc --dry-run --maxlifetime 2h',
    'sessctl gc --system --dry-run',
  )
    // A crontab line is not a shell command: shown apart, without the "$ " prompt.
    .addHelpText('after', 'In /etc/cron.d/sessctl (a crontab line, not a command; cron has no PATH of yours: give the path `command -v sessctl` prints):\n  09,39 * * * *  root  /usr/local/bin/sessctl gc --system --quiet --metrics-file /var/lib/prometheus/node-exporter/sessctl_gc.prom\n')
    .action(lazy(() => import('./commands/gc.js')));

  example(
    add('destroy', "delete sessions under PHP's lock (session_destroy)", false)
      .argument('[ids...]', 'session ids')
      .option('--older-than <duration>', 'select sessions older than this (needs --all-matching)')
      .option('--newer-than <duration>', 'select sessions newer than this (needs --all-matching)')
      .option('--where <expr>', "select sessions by content, e.g. 'user.id == 42' (needs --all-matching)")
      .option('--all-matching', 'really destroy every session the filters select')
      .option('--dry-run', 'show what would be destroyed')
      .option('--lock-timeout <duration>', 'how long to wait for a session in use (250ms, 10s, 2m)', '10s')
      .option('--json', 'print a JSON report')
      .option('--ndjson', 'one JSON object a line per session, then the report')
      .option('-q, --quiet', 'print only errors'),
    'sessctl destroy 3v1kq8d2h6c1mbq0n7l5s9r4tf',
    "sessctl destroy --where 'user.id == 42' --all-matching --dry-run",
    'sessctl destroy --older-than 7d --all-matching --dry-run',
  ).action(lazy(() => import('./commands/destroy.js')));

  for (const unset of [false, true]) {
    const cmd = add(unset ? 'unset' : 'set', unset ? 'remove one value inside one session, under its lock, the rest kept byte for byte' : 'change one value inside one session, under its lock, the rest kept byte for byte', false)
      .argument('<id>', 'session id')
      .argument('<path>', 'where in the session: cart.items, user["full name"], list[0]');
    if (!unset) cmd.argument('<json>', 'the new value as JSON: 0, true, "text", [], {"a": 1}');
    example(
      cmd
        .option('--dry-run', 'show the value before and after, change nothing')
        .option('--lock-timeout <duration>', 'how long to wait for a session in use (250ms, 10s, 2m)', '10s')
        .option('--json', 'print the result as JSON')
        .option('-q, --quiet', 'print only errors'),
      ...(unset ? ['sessctl unset 3v1kq8d2h6c1mbq0n7l5s9r4tf cart'] : ["sessctl set 3v1kq8d2h6c1mbq0n7l5s9r4tf cart.items '[]'", `sessctl set 3v1kq8d2h6c1mbq0n7l5s9r4tf flags.beta true --dry-run`]),
    ).action(lazy(async () => ({ run: (opts: CommonOptions, args: string[]) => import('./commands/set.js').then((m) => m.run(opts, args, unset)) })));
  }

  example(
    add('stats', 'counts, sizes, age and size histograms, handlers, corrupt sessions', true)
      .option('--json', 'print JSON')
      .option('--metrics-file <path>', 'write Prometheus metrics there, atomically (node_exporter textfile collector)')
      .option('-q, --quiet', 'print only errors (with --metrics-file, from cron)'),
    'sessctl stats --save-path "2;/var/lib/php/sessions"',
  ).action(lazy(() => import('./commands/stats.js')));

  example(
    add('validate', 'list every session PHP would fail to decode (and destroy); exit 1 if any', false)
      .option('--json', 'print JSON')
      .option('-q, --quiet', 'print only the problems'),
    'sessctl validate --serialize-handler php_serialize',
  ).action(lazy(() => import('./commands/validate.js')));

  example(
    add('convert', 'rewrite every session to another serialize handler, in place under its lock', false)
      .addOption(new Option('--to <handler>', 'target serialize handler').choices(['php', 'php_serialize', 'php_binary', 'igbinary', 'msgpack']).makeOptionMandatory())
      .option('--dry-run', 'show what would be converted or refused')
      .option('--lock-timeout <duration>', 'how long to wait for a session in use (250ms, 10s, 2m)', '10s')
      .option('--json', 'print a JSON report')
      .option('-q, --quiet', 'print only problems'),
    'sessctl convert --serialize-handler php --to php_serialize --dry-run',
  ).action(lazy(() => import('./commands/convert.js')));

  example(
    add('migrate', 'copy every live session to another backend / serialize handler, each under its lock, keeping its remaining lifetime', true)
      .requiredOption('--to-save-handler <name>', 'the target session.save_handler (files, redis, memcached, …)')
      .option('--to-save-path <path>', 'the target session.save_path')
      .addOption(new Option('--to-serialize-handler <name>', 'the target session.serialize_handler (default: the source’s)').choices(['php', 'php_serialize', 'php_binary', 'igbinary', 'msgpack']))
      .option('--to-maxlifetime <seconds>', 'the target session.gc_maxlifetime (default: the source’s)')
      .option('--to-ini <directive=value>', "a target backend's own directive (repeatable)", (v: string, all: string[] = []) => [...all, v])
      .option('--dry-run', 'show what would move; write nothing')
      .option('--verify', 'afterwards, read every moved session back from the target and compare it with the source')
      .option('--overwrite', 'replace sessions the target already has (default: leave them)')
      .option('--report <file>', 'append one JSON line per session; a later run with the same file skips what was moved')
      .option('--jobs <n>', 'sessions moved at once', '8')
      .option('--lock-timeout <duration>', 'how long to wait for a session in use (250ms, 10s, 2m)', '10s')
      .option('--json', 'print a JSON report')
      .option('-q, --quiet', 'print only problems'),
    'sessctl migrate --save-path "2;/var/lib/php/sessions" --to-save-handler redis --to-save-path "tcp://127.0.0.1:6379" --report migrate.jsonl --verify',
  ).action(lazy(() => import('./commands/migrate.js')));

  example(
    add('mkdirs', "create the depth-N directory tree (PHP's mod_files.sh)", false)
      .addOption(new Option('--bits <n>', 'session.sid_bits_per_character (default: from php.ini / php, like the other settings)').choices(['4', '5', '6']))
      .option('--depth <n>', 'levels (default: the N of save_path)')
      .option('--mode <octal>', 'directory mode (default: the save path directory’s)')
      .option('--json', 'print JSON')
      .option('-q, --quiet', 'print only errors'),
    'sessctl mkdirs --save-path "2;/var/lib/php/sessions"',
  ).action(lazy(() => import('./commands/mkdirs.js')));

  example(
    add('config', 'print each resolved setting and where it came from', true).option('--json', 'print JSON'),
    'sessctl config --php-ini /etc/php/8.2/fpm/php.ini',
    'SESSCTL_SAVE_PATH=/tmp/s sessctl config --json',
  ).action(lazy(() => import('./commands/config.js')));

  return program;
}

/**
 * The expression, escaped, and a caret under the column. The caret is placed by the escaped
 * text before it: a tab or newline in the expression is printed as two characters (`\t`, `\n`)
 * and must neither break the expression's line nor move the caret off the column it names.
 */
function caretLines(expression: string, column: number): string {
  const shown = (text: string) => escapeText(redactSecrets(text));
  return `  ${shown(expression)}\n  ${' '.repeat(shown(expression.slice(0, Math.max(0, column - 1))).length)}^\n`;
}

/** Prints an error as one line (a stack trace only with --debug) and returns the exit code. */
export function reportError(err: unknown, debug: boolean): number {
  const message = redactSecrets(err instanceof Error ? err.message : String(err));
  process.stderr.write(`sessctl: ${escapeText(message.split('\n')[0]!)}\n`);
  // An error that can show where it is (a --where expression with a caret under the column).
  const at = err as { detail?: unknown; expression?: unknown; column?: unknown } | null;
  if (typeof at?.expression === 'string' && typeof at.column === 'number') process.stderr.write(caretLines(at.expression, at.column));
  else if (typeof at?.detail === 'string') process.stderr.write(at.detail.split('\n').map((l) => escapeText(redactSecrets(l))).join('\n') + '\n');
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  if (err instanceof SessctlError && USAGE_CODES.has(err.code)) return EXIT_USAGE;
  // A save path leading through a symlink we may not follow is a bad setting, like a missing one.
  if (err instanceof SavePathError) return EXIT_USAGE;
  return EXIT_FAILED;
}

/** Runs the CLI with `process.argv`-style arguments; sets process.exitCode. */
export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  // `sessctl list | head`: a closed pipe ends the output quietly, as for other Unix tools.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp();
    return;
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      process.exitCode = ok ? EXIT_OK : EXIT_USAGE;
      return;
    }
    process.exitCode = reportError(err, debug);
    await (await import('./commands/common.js')).closeOpenSources();
  }
}
