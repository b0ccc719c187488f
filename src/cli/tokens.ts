// `hangar tokens create|list|revoke`. A new token is printed once, alone on
// stdout, so that `$(hangar tokens create ...)` captures exactly it.
import { Option, type Command } from 'commander';
import { apiClient } from './api-client.js';
import type { CliContext } from './context.js';
import { printJson } from './output/json.js';
import { renderTable } from './output/table.js';

export const tokensCommands = {
  name: 'tokens',
  register(program: Command, ctx: CliContext): void {
    const tokens = program.command('tokens').description('create, list and revoke API tokens');

    tokens
      .command('create')
      .description('create a token; it is shown once')
      .option('-a, --app <name>', 'limit the token to this app')
      .addOption(new Option('--scope <scope>', 'what the token may do').choices(['admin', 'deploy', 'read']).default('admin'))
      .option('--expiry <duration>', 'lifetime such as 24h or 30d (default: no expiry)')
      .option('--json', 'print JSON')
      .action(async (opts: { app?: string; scope: string; expiry?: string; json?: boolean }) => {
        const { token, info } = await (await apiClient(ctx)).createToken({ scope: opts.scope, app: opts.app, expiry: opts.expiry });
        if (opts.json) {
          printJson(ctx, { token, ...info });
          return;
        }
        ctx.stdout.write(`${token}\n`);
        ctx.stderr.write(
          `Created token ${info.id} (scope ${info.scope}${info.app ? `, app ${info.app}` : ''}, ${info.expires_at ? `expires ${info.expires_at}` : 'no expiry'}); it is not shown again.\n`,
        );
      });

    tokens
      .command('list')
      .description('list tokens that are not revoked (never the tokens themselves)')
      .option('--json', 'print JSON')
      .action(async (opts: { json?: boolean }) => {
        const list = await (await apiClient(ctx)).listTokens();
        if (opts.json) {
          printJson(ctx, list);
          return;
        }
        ctx.stdout.write(
          renderTable(
            ['Id', 'Scope', 'App', 'Created At', 'Expires At', 'Last Used'],
            list.map((t) => [t.id, t.scope, t.app ?? '-', t.created_at, t.expires_at ?? 'never', t.last_used_at ?? 'never']),
          ),
        );
      });

    tokens
      .command('revoke')
      .description('revoke a token by id')
      .argument('<id>', 'the token id (see `hangar tokens list`)')
      .action(async (id: string) => {
        await (await apiClient(ctx)).revokeToken(id);
        ctx.stdout.write(`Revoked token ${id}.\n`);
      });
  },
};
