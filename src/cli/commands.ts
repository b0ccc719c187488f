// The one place where command groups are registered. A group is a file under
// src/cli/ that adds its commands to the program; add new groups here.
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { serverCommands } from './server.js';
import { authCommands } from './auth.js';
import { tokensCommands } from './tokens.js';
import { appsCommands } from './apps.js';
import { secretsCommands } from './secrets.js';
import { auditCommands } from './audit.js';
import { dockerfileCommands } from './dockerfile.js';
import { buildCommands } from './build.js';

export interface CommandGroup {
  /** The top-level command the group registers (`hangar NAME ...`). */
  name: string;
  register(program: Command, ctx: CliContext): void;
}

export const commandGroups: CommandGroup[] = [
  serverCommands,
  authCommands,
  tokensCommands,
  appsCommands,
  secretsCommands,
  auditCommands,
  dockerfileCommands,
  buildCommands,
];
