// `hangar secrets set|unset|import|list|deploy`. Values go from argv, stdin
// (NAME=-, byte for byte) or dotenv on stdin straight into one request body;
// they are never printed, and `list` shows names and digests only.
// The API client, config reader and dotenv parser load inside the actions.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { SecretJson } from '../client/api.js';
import { checkDistinctNames, checkSecretName, checkSecretValue, SECRET_NAME_MAX, SECRET_NAME_PATTERN } from '../vault/rules.js';
import type { CliContext } from './context.js';
import { addAppOption } from './options.js';
import { printJson } from './output/json.js';
import { renderTable } from './output/table.js';

interface AppFlags {
  app?: string;
  stage?: boolean;
  json?: boolean;
}

const support = () => import('../client/cli-support.js');

async function reportSet(ctx: CliContext, app: string, set: SecretJson[], opts: AppFlags): Promise<void> {
  const { plural } = await support();
  if (opts.json) {
    printJson(ctx, set);
    return;
  }
  const names = set.map((s) => s.Name).join(', ');
  ctx.stdout.write(
    opts.stage
      ? `Staged ${plural(set.length, 'secret')} for app ${app}: ${names}; run \`hangar secrets deploy\` to apply.\n`
      : `Set ${plural(set.length, 'secret')} on app ${app}: ${names}.\n`,
  );
}

export const secretsCommands = {
  name: 'secrets',
  register(program: Command, ctx: CliContext): void {
    const secrets = program.command('secrets').description("manage an app's runtime secrets (values are write-only)");

    addAppOption(
      secrets
        .command('set')
        .description('set secrets, all or none; NAME=- reads that value from stdin byte for byte')
        .argument('<NAME=VALUE...>', 'secrets to set')
        .option('--stage', 'store them without deploying; `hangar secrets deploy` applies them')
        .option('--json', 'print JSON'),
    ).action(async (pairs: string[], opts: AppFlags) => {
      const { appFor, clientFor, readValueInput } = await support();
      const app = appFor(ctx, opts);
      const parsed: { name: string; value: Buffer | undefined }[] = [];
      let fromStdin: string | undefined;
      for (const [i, pair] of pairs.entries()) {
        // Arguments are never echoed: a malformed one may well be a pasted value.
        const eq = pair.indexOf('=');
        if (eq < 0) {
          throw new UserError(`secret argument ${i + 1} is not NAME=VALUE; write NAME=VALUE, or NAME=- to read the value from stdin.`);
        }
        const name = pair.slice(0, eq);
        if (name === '' || !SECRET_NAME_PATTERN.test(name) || name.length > SECRET_NAME_MAX) {
          throw new UserError(`secret argument ${i + 1} does not start with a valid name; write NAME=VALUE with NAME matching [A-Za-z_][A-Za-z0-9_]*.`);
        }
        const raw = pair.slice(eq + 1);
        if (raw === '-') {
          if (fromStdin !== undefined) throw new UserError(`both ${fromStdin} and ${name} ask for stdin; stdin can give one value per call.`);
          fromStdin = name;
          parsed.push({ name, value: undefined });
        } else {
          parsed.push({ name, value: Buffer.from(raw, 'utf8') });
        }
      }
      checkDistinctNames(parsed.map((p) => p.name));
      const stdinValue = fromStdin !== undefined ? await readValueInput(ctx, `Value of ${fromStdin} (one line; pipe it in for multi-line or binary values): `) : undefined;
      const inputs = parsed.map((p) => ({ name: p.name, value: p.value ?? stdinValue! }));
      for (const s of inputs) checkSecretValue(s.name, s.value);
      const set = await clientFor(ctx).setSecrets(app, inputs, Boolean(opts.stage));
      await reportSet(ctx, app, set, opts);
    });

    addAppOption(
      secrets
        .command('import')
        .description('set secrets from dotenv NAME=VALUE lines on stdin (quotes, escapes, multi-line values), all or none')
        .option('--stage', 'store them without deploying; `hangar secrets deploy` applies them')
        .option('--json', 'print JSON'),
    ).action(async (opts: AppFlags) => {
      const [{ appFor, clientFor, readStdin }, { parseDotenv }] = await Promise.all([support(), import('../client/dotenv.js')]);
      const app = appFor(ctx, opts);
      const entries = parseDotenv(await readStdin(ctx));
      if (entries.length === 0) throw new UserError('stdin holds no NAME=VALUE lines; pipe a dotenv file, such as `hangar secrets import < .env`.');
      checkDistinctNames(entries.map((e) => e.name));
      for (const e of entries) checkSecretValue(e.name, e.value);
      const set = await clientFor(ctx).setSecrets(app, entries, Boolean(opts.stage));
      await reportSet(ctx, app, set, opts);
    });

    addAppOption(
      secrets
        .command('unset')
        .description('remove secrets, all or none')
        .argument('<NAME...>', 'secret names')
        .option('--stage', 'remove them at the next `hangar secrets deploy`'),
    ).action(async (names: string[], opts: AppFlags) => {
      const { appFor, clientFor, plural } = await support();
      const app = appFor(ctx, opts);
      for (const n of names) checkSecretName(n);
      checkDistinctNames(names);
      await clientFor(ctx).unsetSecrets(app, names, Boolean(opts.stage));
      ctx.stdout.write(
        opts.stage
          ? `Staged the removal of ${plural(names.length, 'secret')} from app ${app}: ${names.join(', ')}; run \`hangar secrets deploy\` to apply.\n`
          : `Removed ${plural(names.length, 'secret')} from app ${app}: ${names.join(', ')}.\n`,
      );
    });

    addAppOption(secrets.command('list').description('list secret names, digests and status (never values)').option('--json', 'print JSON')).action(
      async (opts: AppFlags) => {
        const { appFor, clientFor } = await support();
        const list = await clientFor(ctx).listSecrets(appFor(ctx, opts));
        if (opts.json) {
          printJson(ctx, list);
          return;
        }
        ctx.stdout.write(
          renderTable(
            ['Name', 'Digest', 'Created At', 'Updated At', 'Status'],
            list.map((s) => [s.Name, s.Digest.slice(0, 16), s.CreatedAt, s.UpdatedAt, s.Status]),
          ),
        );
      },
    );

    addAppOption(secrets.command('deploy').description('make staged secret changes deployed')).action(async (opts: AppFlags) => {
      const { appFor, clientFor, plural } = await support();
      const app = appFor(ctx, opts);
      const changed = await clientFor(ctx).deploySecrets(app);
      ctx.stdout.write(changed ? `Deployed ${plural(changed, 'staged change')} to app ${app}.\n` : `App ${app} had no staged secret changes.\n`);
    });
  },
};
