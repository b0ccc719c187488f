// Option definitions that several command groups share. Loaded with every
// command, so it must stay free of anything heavier than commander.
import type { Command } from 'commander';

export function addAppOption(cmd: Command): Command {
  return cmd.option('-a, --app <name>', 'the app (default: HANGAR_APP, or app in ./hangar.toml)');
}
