// What the platform command groups share: a client for the configured API,
// the app a command is about, and reading stdin byte for byte. No business
// logic; never echoes what it reads.
import type { Command } from 'commander';
import type { CliContext } from '../cli/context.js';
import { resolveApiTarget, resolveAppName } from '../config/paths.js';
import { HangarClient } from './api.js';

export function clientFor(ctx: CliContext): HangarClient {
  return new HangarClient(resolveApiTarget(ctx.env));
}

export function appFor(ctx: CliContext, opts: { app?: string | undefined }): string {
  return resolveAppName(opts.app, ctx.env, ctx.cwd);
}

export function addAppOption(cmd: Command): Command {
  return cmd.option('-a, --app <name>', 'the app (default: HANGAR_APP, or app in ./hangar.toml)');
}

/** All of stdin as bytes, exactly as given. */
export async function readStdin(ctx: CliContext): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.stdin as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  }
  return Buffer.concat(chunks);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
