// `hangar audit [--json]`: the audit trail (token, action, app, name, digest).
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { apiClient } from './api-client.js';
import type { CliContext } from './context.js';
import { printJson } from './output/json.js';
import { renderTable } from './output/table.js';

export const auditCommands = {
  name: 'audit',
  register(program: Command, ctx: CliContext): void {
    program
      .command('audit')
      .description('show the audit trail: who changed or read which secret, by name and digest')
      .option('-a, --app <name>', 'only this app')
      .option('--limit <n>', 'most recent entries to show', '1000')
      .option('--json', 'print JSON')
      .action(async (opts: { app?: string; limit: string; json?: boolean }) => {
        if (!/^[1-9][0-9]{0,4}$/.test(opts.limit) || Number(opts.limit) > 10000) {
          throw new UserError(`--limit ${opts.limit} is invalid; give a whole number from 1 to 10000.`);
        }
        const entries = await (await apiClient(ctx)).audit({ app: opts.app, limit: Number(opts.limit) });
        if (opts.json) {
          printJson(ctx, entries);
          return;
        }
        ctx.stdout.write(
          renderTable(
            ['Time', 'Token', 'Action', 'App', 'Name', 'Digest', 'Build'],
            entries.map((e) => [e.time, e.token_id ?? '-', e.action, e.app ?? '-', e.name ?? '-', e.digest ? e.digest.slice(0, 16) : '-', e.build_id ?? '-']),
          ),
        );
      });
  },
};
