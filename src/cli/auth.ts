// `hangar auth login|token|whoami|logout`: which API and token the CLI uses.
// The token is read from --token, or from stdin so it need not be in argv.
// The API client and config reader are loaded inside the actions, so that
// other commands do not pay for them.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { apiClient } from './api-client.js';
import type { CliContext } from './context.js';
import { printJson } from './output/json.js';
import { renderTable } from './output/table.js';

export const authCommands = {
  name: 'auth',
  register(program: Command, ctx: CliContext): void {
    const auth = program.command('auth').description('log in to a Hangar API and see who you are');

    auth
      .command('login')
      .description('check a token against the API and save it to the CLI config (reads it from stdin without --token)')
      .option('--token <token>', 'the API token (default: read from stdin)')
      .option('--api-url <url>', 'the API URL (default: HANGAR_API_URL, the saved one, or http://127.0.0.1:4280)')
      .action(async (opts: { token?: string; apiUrl?: string }) => {
        const [{ HangarClient }, { readValueInput }, { readCliConfig, resolveApiTarget, writeCliConfig }] = await Promise.all([
          import('../client/api.js'),
          import('../client/cli-support.js'),
          import('../config/paths.js'),
        ]);
        const token = (opts.token ?? (await readValueInput(ctx, 'API token: ')).toString('utf8')).trim();
        if (!token) throw new UserError('no token given; pass --token TOKEN or pipe the token on stdin.');
        const target = resolveApiTarget(ctx.env);
        const url = (opts.apiUrl ?? target.url).replace(/\/+$/, '');
        if (!/^https?:\/\/./.test(url)) throw new UserError(`API URL ${JSON.stringify(url)} is invalid; give http://HOST:PORT or https://HOST.`);
        const who = await new HangarClient({ url, token, tokenSource: 'config' }).whoami();
        const path = writeCliConfig(ctx.env, { ...(readCliConfig(ctx.env) ?? {}), api_url: url, token });
        ctx.stdout.write(`Logged in to ${url} as token ${who.token_id} (scope ${who.scope}${who.app ? `, app ${who.app}` : ''}); saved to ${path}.\n`);
      });

    auth
      .command('token')
      .description('print the API token in use (for HANGAR_API_TOKEN=$(hangar auth token))')
      .action(async () => {
        const { resolveApiTarget } = await import('../config/paths.js');
        const target = resolveApiTarget(ctx.env);
        if (!target.token) throw new UserError('no API token; run `hangar auth login` or set HANGAR_API_TOKEN.');
        ctx.stdout.write(`${target.token}\n`);
      });

    auth
      .command('whoami')
      .description('show the token in use: id, scope, app, expiry')
      .option('--json', 'print JSON')
      .action(async (opts: { json?: boolean }) => {
        const client = await apiClient(ctx);
        const who = await client.whoami();
        if (opts.json) {
          printJson(ctx, { ...who, api_url: client.url });
          return;
        }
        ctx.stdout.write(
          renderTable(
            ['Token', 'Scope', 'App', 'Expires', 'API'],
            [[who.token_id, who.scope, who.app ?? '-', who.expires_at ?? 'never', client.url]],
          ),
        );
      });

    auth
      .command('logout')
      .description('forget the saved token')
      .action(async () => {
        const { cliConfigPath, readCliConfig, writeCliConfig } = await import('../config/paths.js');
        const config = readCliConfig(ctx.env);
        if (!config?.token) {
          ctx.stdout.write('No token was saved; nothing to do.\n');
          return;
        }
        const rest = { ...config };
        delete rest.token;
        writeCliConfig(ctx.env, rest);
        ctx.stdout.write(`Removed the saved token from ${cliConfigPath(ctx.env)}.\n`);
        if (ctx.env.HANGAR_API_TOKEN) ctx.stderr.write('HANGAR_API_TOKEN is still set in this environment and still applies.\n');
      });
  },
};
