// `hangar server` (run the platform) and `hangar server rotate-master-key`.
// Parses flags and calls src/server and src/vault; holds no logic of its own.
// The server, store and vault (hono, zod, kysely, database drivers) are loaded
// inside the actions: importing them here would slow every other command.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { DEFAULT_LISTEN } from '../config/defaults.js';
import type { CliContext } from './context.js';

interface ServerFlags {
  dataDir?: string;
  listen?: string;
  database?: string;
  builder?: string;
}

function checkBuilder(url: string | undefined): void {
  if (url !== undefined && !/^(unix|tcp|buildkit\+unix|buildkit\+tcp):\/\/./.test(url)) {
    throw new UserError(`builder ${JSON.stringify(url)} is not a builder URL; use unix://, tcp://, buildkit+unix:// or buildkit+tcp://.`);
  }
}

export const serverCommands = {
  name: 'server',
  register(program: Command, ctx: CliContext): void {
    const server = program
      .command('server')
      .description('run the Hangar platform: HTTP API, vault and store')
      .option('--data-dir <dir>', 'data directory (default: HANGAR_DATA_DIR or ~/.local/share/hangar)')
      .option('--listen <addr>', `address to listen on (default: ${DEFAULT_LISTEN})`)
      .option('--database <url>', 'postgres://... URL or SQLite file (default: hangar.db in the data dir)')
      .option('--builder <url>', 'BuildKit to build with (default: HANGAR_BUILDER, DOCKER_HOST, or the local engine)')
      .addHelpText(
        'after',
        [
          '',
          'Environment:',
          '  HANGAR_DATA_DIR                  data directory (database, master.key)',
          '  HANGAR_MASTER_KEY                the master key (64 hex digits) instead of <data dir>/master.key',
          '  HANGAR_AUTH_FAILURES_PER_MINUTE  failed authentications allowed per client address (default 20)',
          '  HANGAR_SQLITE_SYNC               normal (default; commits survive kill -9) or full (fsync every commit)',
          '',
          'On first start the server prints an admin token once and saves it to the CLI config if there is none.',
        ].join('\n'),
      )
      .action(async (flags: ServerFlags) => {
        const builder = flags.builder ?? ctx.env.HANGAR_BUILDER;
        checkBuilder(builder);
        const [{ serverDataDir }, { startServer }] = await Promise.all([import('../config/paths.js'), import('../server/runtime.js')]);
        const running = await startServer({
          dataDir: serverDataDir(flags.dataDir, ctx.env),
          listen: flags.listen ?? DEFAULT_LISTEN,
          database: flags.database,
          builder,
          env: ctx.env,
          out: ctx.stdout,
          logOut: ctx.stderr,
        });
        const onSignal = () => void running.stop();
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
        await running.closed;
        process.removeListener('SIGTERM', onSignal);
        process.removeListener('SIGINT', onSignal);
      });

    server
      .command('rotate-master-key')
      .description('wrap every app key under a new master key (values are not touched); stop the server first')
      .option('--data-dir <dir>', 'data directory (default: HANGAR_DATA_DIR or ~/.local/share/hangar)')
      .option('--database <url>', 'postgres://... URL or SQLite file (default: hangar.db in the data dir)')
      .action(async (flags: ServerFlags) => {
        // Options of the same name on `server` are parsed there when given before the subcommand.
        const parent = server.opts<ServerFlags>();
        const [{ serverDataDir }, { assertDataDirFree }, { Store, storeLocation }, { rotateMasterKey }] = await Promise.all([
          import('../config/paths.js'),
          import('../server/runtime.js'),
          import('../store/store.js'),
          import('../vault/rotation.js'),
        ]);
        const dataDir = serverDataDir(flags.dataDir ?? parent.dataDir, ctx.env);
        assertDataDirFree(dataDir);
        const store = await Store.open(storeLocation(flags.database ?? parent.database, dataDir, ctx.env));
        try {
          const { apps } = await rotateMasterKey(dataDir, store, ctx.env);
          ctx.stdout.write(`Rotated the master key; rewrapped the keys of ${apps} app${apps === 1 ? '' : 's'}.\n`);
        } finally {
          await store.close();
        }
      });
  },
};
