// The one place where command groups are registered. A group is a file under
// src/cli/ that adds its commands to the program; add new groups here.
import type { Command } from 'commander';
import type { CliContext } from './context.js';

export interface CommandGroup {
  register(program: Command, ctx: CliContext): void;
}

export const commandGroups: CommandGroup[] = [];
