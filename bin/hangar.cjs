#!/usr/bin/env node
// The Hangar CLI's entry, run by bin/hangar (or `node bin/hangar.cjs`).
//
// It runs dist/hangar.cjs with a V8 code cache: compiled code for the
// functions a command ran, kept per command in
// $XDG_CACHE_HOME/hangar/code-cache (~/.cache/hangar/code-cache). Node 20
// compiles every function of the CLI from source on each run otherwise; for a
// small `hangar build` that was 25-30 ms of the client's ~150 ms of CPU. The
// cache holds code only (V8's code cache has no run-time values, so nothing a
// command read or computed), is written once per command after it first runs
// (and again when V8 refuses it), is named after the exact file it was made
// from, and is used only when it belongs to this user and nobody else can
// write it. Any failure to read or write it just means compiling as before.
'use strict';
const fs = require('node:fs');
const { createRequire } = require('node:module');
const { homedir } = require('node:os');
const path = require('node:path');
const vm = require('node:vm');

/** The CLI's top-level commands, each with its own cache (test/cli/code-cache.test.ts holds this to `hangar --help`). */
const COMMANDS = new Set(['server', 'auth', 'tokens', 'apps', 'secrets', 'audit', 'dockerfile', 'build']);
/** How many caches of other builds of the CLI (or another Node, or checkout) are kept. */
const KEEP_OTHER_CACHES = 24;

// bin/hangar passes NODE_EXTRA_CA_CERTS under another name for commands that
// apply it themselves (Node would load it at start-up); it is put back here so
// that child processes see the environment as it was given.
const deferredCa = process.env.HANGAR_DEFERRED_EXTRA_CA_CERTS;
if (deferredCa !== undefined) {
  delete process.env.HANGAR_DEFERRED_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = deferredCa;
  globalThis[Symbol.for('hangar.deferredExtraCaCerts')] = deferredCa;
}

// A reader that goes away early (`hangar ... | head`) ends the output, not in a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const entry = path.join(__dirname, '..', 'dist', 'hangar.cjs');
let source;
let stat;
try {
  // One descriptor for both, so the cache's name describes the text compiled.
  const fd = fs.openSync(entry, 'r');
  try {
    stat = fs.fstatSync(fd);
    source = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
} catch {
  process.stderr.write('hangar: this checkout is not built yet; run `bash scripts/setup.sh` first.\n');
  process.exit(1);
}

const argv = process.argv.slice(2);
const cache = codeCache(stat, argv);
const { state: readState, data: cachedData } = readCache(cache.file);
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: entry,
  cachedData,
});
const mod = { exports: {} };
script.runInThisContext().call(mod.exports, mod.exports, createRequire(entry), mod, entry, path.dirname(entry));
const saveCache = cachedData === undefined || script.cachedDataRejected === true;
const debug = process.env.HANGAR_DEBUG === '1';
if (debug) trace(`code cache ${cachedData === undefined ? readState : script.cachedDataRejected ? 'refused by V8' : 'used'}: ${cache.file}`);

mod.exports.run(argv).then((code) => {
  process.exitCode = code;
  if (saveCache) {
    const ok = writeCache(cache, script);
    if (debug) trace(ok ? 'code cache written' : 'code cache not written');
  }
});

// The same form as the build's own trace (src/cli/build.ts).
function trace(text) {
  const cpu = process.cpuUsage();
  process.stderr.write(`hangar: debug: ${performance.now().toFixed(0)} ms (cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms) ${text}\n`);
}

/** Where this command's cache lives; the name changes with the file, Node, and V8's options. */
function codeCache(st, args) {
  const env = process.env;
  // As src/build/image-config-cache.ts finds it (this runs before the bundle is loaded).
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(env.HOME || homedir(), '.cache');
  // Named after the command only when it is one (an argument can be anything, a value included).
  const first = args.find((a) => !a.startsWith('-'));
  const command = first !== undefined && COMMANDS.has(first) ? first : 'other';
  const options = `${process.execArgv.join(' ')}\0${env.NODE_OPTIONS ?? ''}`;
  const key = [process.version, process.arch, st.dev, st.ino, st.size, Math.trunc(st.mtimeMs), fnv1a(options)].join('-');
  const dir = path.join(base, 'hangar', 'code-cache');
  return { dir, key, file: path.join(dir, `${key}.${command}.bin`) };
}

/** The cache's bytes, or why there are none: `missing`, or `not used (...)` for a file that is not safe to load. */
function readCache(file) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    return { state: err.code === 'ELOOP' ? 'not used (a symbolic link)' : 'missing' };
  }
  try {
    const st = fs.fstatSync(fd);
    const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
    if (!st.isFile()) return { state: 'not used (not a regular file)' };
    if (st.uid !== uid) return { state: 'not used (owned by another user)' };
    if ((st.mode & 0o022) !== 0) return { state: 'not used (writable by other users)' };
    return { state: 'read', data: fs.readFileSync(fd) };
  } catch {
    return { state: 'missing' };
  } finally {
    fs.closeSync(fd);
  }
}

function writeCache({ dir, key, file }, compiled) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(tmp, compiled.createCachedData(), { mode: 0o600, flag: 'wx' });
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  } catch {
    // Best effort: the next run compiles from source and tries again.
    return false;
  }
  pruneOtherCaches(dir, key);
  return true;
}

/** Caches of earlier builds of the CLI: the newest are kept (another process may be removing some too). */
function pruneOtherCaches(dir, key) {
  try {
    const others = [];
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith('.bin') || name.startsWith(`${key}.`)) continue;
      try {
        others.push({ name, mtimeMs: fs.statSync(path.join(dir, name)).mtimeMs });
      } catch {
        // Gone already.
      }
    }
    others.sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const { name } of others.slice(KEEP_OTHER_CACHES)) fs.rmSync(path.join(dir, name), { force: true });
  } catch {
    // Best effort, as the cache itself.
  }
}

function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}
