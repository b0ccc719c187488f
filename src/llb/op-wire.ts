// Hand-written protobuf encoding of LLB ops (BuildKit's pb.Op), the bytes
// whose SHA-256 names each op. Byte for byte what protobuf-es's toBinary
// writes for the same message (fields in declaration order, proto3 zero
// values left out, map entries with both key and value, oneof members always
// written): a property test holds it to that on random graphs. Written by
// hand because reflective encoding of every op was the largest part of
// compiling a many-stage Dockerfile, on the path before the builder can start.
// Field numbers are those of proto/buildkit/solver/ops.proto.
import { ProtoWriter as Writer } from '../buildkit/protowire.js';
import { compareBytes, type ChownSpec, type FileAction, type Platform, type ResolvedFileAction, type ResolvedMount, type Vertex } from './graph.js';

const NET_MODE = { sandbox: 0, host: 1, none: 2 } as const;
const MOUNT_TYPE = { bind: 0, secret: 1, ssh: 2, cache: 3, tmpfs: 4 } as const;
const CACHE_SHARING = { shared: 0, private: 1, locked: 2 } as const;

/** The bytes of one op: `vertex` with its inputs named by `inputDigests`. */
export function encodeOp(vertex: Vertex, inputDigests: readonly string[], platform: Platform | undefined): Uint8Array {
  const w = new Writer();
  vertex.inputs.forEach((input, i) => w.message(1, (m) => inputMessage(m, inputDigests[i]!, input.index)));
  switch (vertex.kind) {
    case 'exec':
      w.message(2, (m) => {
        m.message(1, (meta) => {
          for (const a of vertex.meta.args) meta.string(1, a, true);
          for (const e of vertex.meta.env) meta.string(2, e, true);
          meta.string(3, vertex.meta.cwd);
          meta.string(4, vertex.meta.user);
          for (const h of vertex.meta.extraHosts ?? []) {
            meta.message(6, (hm) => {
              hm.string(1, h.host);
              hm.string(2, h.ip);
            });
          }
          meta.string(7, vertex.meta.hostname ?? '');
        });
        for (const mount of vertex.mounts) m.message(2, (mm) => mountMessage(mm, mount));
        m.int(3, vertex.network === 'host' ? NET_MODE.host : vertex.network === 'none' ? NET_MODE.none : NET_MODE.sandbox);
        m.int(4, vertex.security === 'insecure' ? 1 : 0);
      });
      break;
    case 'source':
      w.message(3, (m) => {
        m.string(1, vertex.identifier);
        for (const k of Object.keys(vertex.attrs).sort(compareBytes)) {
          m.message(2, (e) => {
            e.string(1, k, true);
            e.string(2, vertex.attrs[k]!, true);
          });
        }
      });
      break;
    case 'file':
      w.message(4, (m) => {
        for (const a of vertex.actions) m.message(2, (am) => fileActionMessage(am, a));
      });
      break;
  }
  const p = vertex.options.platform ?? platform;
  if (p) {
    w.message(10, (m) => {
      m.string(1, p.architecture);
      m.string(2, p.os);
      m.string(3, p.variant ?? '');
    });
  }
  return w.finish();
}

/** The terminal op: only an input, the result. */
export function encodeTerminalOp(digest: string, index: number): Uint8Array {
  const w = new Writer();
  w.message(1, (m) => inputMessage(m, digest, index));
  return w.finish();
}

function inputMessage(m: Writer, digest: string, index: number): void {
  m.string(1, digest);
  m.int(2, index);
}

function mountMessage(m: Writer, mount: ResolvedMount): void {
  m.int(1, mount.input);
  m.string(2, mount.selector);
  m.string(3, mount.dest);
  m.int(4, mount.output);
  m.bool(5, mount.readonly);
  m.int(6, MOUNT_TYPE[mount.type]);
  if (mount.cache) {
    const cache = mount.cache;
    m.message(20, (c) => {
      c.string(1, cache.id);
      c.int(2, CACHE_SHARING[cache.sharing]);
    });
  }
  for (const [field, opt] of [
    [21, mount.secret],
    [22, mount.ssh],
  ] as const) {
    if (!opt) continue;
    m.message(field, (o) => {
      o.string(1, opt.id);
      o.int(2, opt.uid);
      o.int(3, opt.gid);
      o.int(4, opt.mode);
      o.bool(5, opt.optional);
    });
  }
}

/** BuildKit takes timestamps in nanoseconds (beyond 2^53, hence a bigint); -1 means "keep/now". */
function timestampNs(ms: number | undefined): bigint {
  return ms === undefined ? -1n : BigInt(Math.trunc(ms)) * 1_000_000n;
}

function fileActionMessage(m: Writer, resolved: ResolvedFileAction): void {
  const { input, secondaryInput, output, action: a } = resolved;
  m.int(1, input);
  m.int(2, secondaryInput);
  m.int(3, output);
  switch (a.action) {
    case 'copy':
      m.message(4, (c) => copyMessage(c, a, input));
      break;
    case 'mkfile':
      m.message(5, (f) => {
        f.string(1, a.path);
        f.int(2, a.mode);
        f.bytes(3, a.data);
        ownerMessage(f, 4, a.owner, input);
        f.int64(5, timestampNs(a.timestamp));
      });
      break;
    case 'mkdir':
      m.message(6, (d) => {
        d.string(1, a.path);
        d.int(2, a.mode);
        d.bool(3, a.makeParents);
        ownerMessage(d, 4, a.owner, input);
        d.int64(5, timestampNs(a.timestamp));
      });
      break;
    case 'rm':
      m.message(7, (r) => {
        r.string(1, a.path);
        r.bool(2, a.allowNotFound);
        r.bool(3, a.allowWildcard);
      });
      break;
  }
}

function copyMessage(c: Writer, a: Extract<FileAction, { action: 'copy' }>, input: number): void {
  const o = a.options;
  c.string(1, a.src);
  c.string(2, a.dest);
  ownerMessage(c, 3, o.owner, input);
  // -1 keeps the source's permission bits.
  c.int(4, o.mode ?? -1);
  c.bool(5, o.followSymlink ?? false);
  c.bool(6, o.dirCopyContents ?? false);
  c.bool(7, o.attemptUnpack ?? false);
  c.bool(8, o.createDestPath ?? false);
  c.bool(9, o.allowWildcard ?? false);
  c.bool(10, o.allowEmptyWildcard ?? false);
  c.int64(11, timestampNs(o.timestamp));
}

function ownerMessage(m: Writer, field: number, spec: ChownSpec | undefined, input: number): void {
  if (!spec || (spec.user === undefined && spec.group === undefined)) return;
  const one = (w: Writer, f: number, v: number | string | undefined): void => {
    if (v === undefined) return;
    if (typeof v === 'string' && input < 0) {
      throw new TypeError(`cannot resolve the user name ${JSON.stringify(v)} on an empty filesystem; use a numeric id`);
    }
    w.message(f, (u) => {
      // A name is looked up in /etc/passwd and /etc/group of the state the action changes.
      if (typeof v === 'number') u.int(2, v, true);
      else {
        u.message(1, (n) => {
          n.string(1, v);
          n.int(2, input);
        });
      }
    });
  };
  m.message(field, (o) => {
    one(o, 1, spec.user);
    one(o, 2, spec.group);
  });
}
