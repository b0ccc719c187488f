// `hangar apps create|list|destroy`.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { checkAppName } from '../vault/rules.js';
import { apiClient } from './api-client.js';
import type { CliContext } from './context.js';
import { printJson } from './output/json.js';
import { renderTable } from './output/table.js';

export const appsCommands = {
  name: 'apps',
  register(program: Command, ctx: CliContext): void {
    const apps = program.command('apps').description('create, list and destroy apps');

    apps
      .command('create')
      .description('create an app')
      .argument('<name>', 'lower-case letters, digits and hyphens; 2 to 63 characters')
      .option('--json', 'print JSON')
      .action(async (name: string, opts: { json?: boolean }) => {
        checkAppName(name);
        const app = await (await apiClient(ctx)).createApp(name);
        if (opts.json) printJson(ctx, app);
        else ctx.stdout.write(`Created app ${app.name}.\n`);
      });

    apps
      .command('list')
      .description('list apps')
      .option('--json', 'print JSON')
      .action(async (opts: { json?: boolean }) => {
        const list = await (await apiClient(ctx)).listApps();
        if (opts.json) printJson(ctx, list);
        else ctx.stdout.write(renderTable(['Name', 'Created At'], list.map((a) => [a.name, a.created_at])));
      });

    apps
      .command('destroy')
      .description('destroy an app with all its secrets and keys')
      .argument('<name>', 'the app')
      .option('--yes', 'confirm: the app, its secrets and their versions are deleted for good')
      .action(async (name: string, opts: { yes?: boolean }) => {
        if (!opts.yes) throw new UserError(`destroying app ${name} deletes its secrets for good; pass --yes to confirm.`);
        await (await apiClient(ctx)).destroyApp(name);
        ctx.stdout.write(`Destroyed app ${name}.\n`);
      });
  },
};
