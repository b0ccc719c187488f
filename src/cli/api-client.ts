// The client for the configured Hangar API, loaded when a command first needs
// it: the client and the config reader (TOML) are not needed by --help,
// --version or the offline commands, and must not slow them down.
import type { HangarClient } from '../client/api.js';
import type { CliContext } from './context.js';

export async function apiClient(ctx: CliContext): Promise<HangarClient> {
  const { clientFor } = await import('../client/cli-support.js');
  return clientFor(ctx);
}
