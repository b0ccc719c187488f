// What the platform command groups share: a client for the configured API,
// the app a command is about, and reading stdin byte for byte. No business
// logic; never echoes what it reads.
import { UserError } from '../errors.js';
import { readStream } from '../read-stream.js';
import type { CliContext } from '../cli/context.js';
import { resolveApiTarget, resolveAppName } from '../config/paths.js';
import { HangarClient } from './api.js';

export { addAppOption } from '../cli/options.js';

export function clientFor(ctx: CliContext): HangarClient {
  return new HangarClient(resolveApiTarget(ctx.env));
}

export function appFor(ctx: CliContext, opts: { app?: string | undefined }): string {
  return resolveAppName(opts.app, ctx.env, ctx.cwd);
}

/** All of stdin as bytes, exactly as given. */
export function readStdin(ctx: CliContext): Promise<Buffer> {
  return readStream(ctx.stdin);
}

/**
 * Reads one line typed at a terminal without echoing it (raw mode), so a value never shows on
 * screen; Backspace edits, Ctrl-C aborts, Enter ends. Used only when stdin is a TTY.
 */
export async function readTerminalLine(ctx: CliContext, prompt: string): Promise<Buffer> {
  const tty = ctx.stdin as NodeJS.ReadableStream & { setRawMode?: (raw: boolean) => void };
  ctx.stderr.write(prompt);
  tty.setRawMode?.(true);
  const bytes: number[] = [];
  try {
    for await (const chunk of tty as AsyncIterable<Buffer | string>) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      for (const byte of b) {
        if (byte === 0x03) throw new UserError('cancelled at the prompt; nothing was changed.');
        if (byte === 0x0d || byte === 0x0a || byte === 0x04) return Buffer.from(bytes);
        if (byte === 0x7f || byte === 0x08) {
          // Drop a whole UTF-8 character: its continuation bytes, then its lead byte.
          while (bytes.length && (bytes[bytes.length - 1]! & 0xc0) === 0x80) bytes.pop();
          bytes.pop();
        } else bytes.push(byte);
      }
    }
    return Buffer.from(bytes);
  } finally {
    tty.setRawMode?.(false);
    ctx.stderr.write('\n');
  }
}

/** A value from stdin: byte for byte from a pipe or file; one typed line from a terminal. */
export function readValueInput(ctx: CliContext, prompt: string): Promise<Buffer> {
  return ctx.stdin.isTTY ? readTerminalLine(ctx, prompt) : readStdin(ctx);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
