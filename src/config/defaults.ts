// Hangar's default addresses, in a module of their own so that command
// definitions (help texts) can name them without loading the config reader.
export const DEFAULT_LISTEN = '127.0.0.1:4280';
export const DEFAULT_API_URL = `http://${DEFAULT_LISTEN}`;
