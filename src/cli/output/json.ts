// JSON output is a stable contract: one document, two-space indent, newline.
import type { CliContext } from '../context.js';

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
