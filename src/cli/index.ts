/** Placeholder CLI until the CLI issue lands. */
export async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'Usage: sessctl <command> [options]\n\nCommands: list, inspect, gc, destroy, stats, validate, convert, mkdirs, config\n',
    );
    return;
  }
  process.stderr.write(`sessctl: unknown command ${args[0]}\n`);
  process.exitCode = 2;
}
