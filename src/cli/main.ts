// Entry point of the `hangar` CLI: parses argv with commander, dispatches to the
// registered command groups and turns every failure into one sentence on stderr.
// Holds no business logic.
import { Command, CommanderError, Option } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { isUserError } from '../errors.js';
import { commandGroups, type CommandGroup } from './commands.js';
import { processContext, type CliContext } from './context.js';

export const VERSION: string = pkg.version;

export function buildProgram(ctx: CliContext, groups: readonly CommandGroup[] = commandGroups): Command {
  const program = new Command('hangar')
    .description('Ship containerised apps with their secrets, on your own machines.')
    .version(VERSION, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .addOption(new Option('--debug', 'print stack traces of internal errors').hideHelp());
  for (const group of groups) group.register(program, ctx);
  configureTree(program, ctx);
  return program;
}

// Every command in the tree throws instead of exiting and writes errors through
// our own formatter, so that tests and the CLI see the same text.
function configureTree(cmd: Command, ctx: CliContext): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => ctx.stdout.write(s),
    writeErr: (s) => ctx.stderr.write(s),
    outputError: () => {
      /* reported by run() as one sentence */
    },
  });
  for (const sub of cmd.commands) configureTree(sub, ctx);
}

function commandPath(cmd: Command | undefined): string {
  const names: string[] = [];
  for (let c: Command | null | undefined = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

// Commander's messages start with "error: "; ours are one sentence with a fix.
function describeCommanderError(err: CommanderError, program: Command): string {
  const msg = err.message.replace(/^error:\s*/, '').replace(/\n[\s\S]*$/, '');
  const helpFor = (name: string) => `run \`${name} --help\` to see what it takes`;
  switch (err.code) {
    case 'commander.unknownCommand':
      return `hangar: ${msg.replace(/\.$/, '')}; run \`hangar --help\` to see the commands.`;
    case 'commander.unknownOption':
    case 'commander.missingArgument':
    case 'commander.optionMissingArgument':
    case 'commander.missingMandatoryOptionValue':
    case 'commander.invalidArgument':
    case 'commander.excessArguments':
    case 'commander.conflictingOption': {
      const where = commandPath(lastParsed ?? program);
      return `${where}: ${msg.replace(/\.$/, '')}; ${helpFor(where)}.`;
    }
    default:
      return `hangar: ${msg}`;
  }
}

let lastParsed: Command | undefined;

/** Runs the CLI with the given arguments and returns the exit status. */
export async function run(argv: string[], ctx: CliContext = processContext()): Promise<number> {
  // `hangar build ...` needs only the build group's commands; registering the
  // rest is start-up time spent on every run. Anything else (help, an unknown
  // or misspelled command) gets them all.
  const invoked = argv.find((a) => !a.startsWith('-'));
  const group = commandGroups.find((g) => g.name === invoked);
  const program = buildProgram(ctx, group ? [group] : commandGroups);
  // Remember which command was being parsed so errors can name it.
  const track = (cmd: Command) => {
    cmd.hook('preSubcommand', (_this, sub) => {
      lastParsed = sub;
    });
    for (const sub of cmd.commands) track(sub);
  };
  lastParsed = program;
  track(program);
  const debug = argv.includes('--debug') || ctx.env.HANGAR_DEBUG === '1';
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        return 0;
      }
      if (err.code === 'commander.executeSubCommandAsync') return err.exitCode;
      ctx.stderr.write(`${describeCommanderError(err, program)}\n`);
      return 1;
    }
    if (isUserError(err)) {
      ctx.stderr.write(`hangar: ${err.message}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    ctx.stderr.write(
      `hangar: internal error: ${message}\n` +
        'This is a bug in Hangar; please report it with the command you ran (add --debug for details).\n',
    );
    if (debug && err instanceof Error && err.stack) ctx.stderr.write(`${err.stack}\n`);
    return 2;
  }
}
