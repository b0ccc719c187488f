// Hangar's default addresses and the CLI's config directory, in a module of
// their own so that command definitions (help texts) and the build path can
// name them without loading the config reader.
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export const DEFAULT_LISTEN = '127.0.0.1:4280';
export const DEFAULT_API_URL = `http://${DEFAULT_LISTEN}`;

/** $XDG_CONFIG_HOME/hangar (~/.config/hangar); a relative XDG_CONFIG_HOME is ignored, as the XDG spec says. */
export function cliConfigDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(base, 'hangar');
}
