// The reference for src/llb/op-wire.ts: each op built as a protobuf-es
// message from the generated schema and encoded with toBinary, the way
// definition.ts did before it encoded ops by hand. Tests only.
import { create, toBinary } from '@bufbuild/protobuf';
import {
  CacheSharingOpt,
  MountType,
  NetMode,
  OpSchema,
  SecurityMode,
  type FileAction as PbFileAction,
  type Mount,
  type Op,
  type Platform as PbPlatform,
  type UserOpt,
} from '../../../src/buildkit/gen/buildkit/solver/ops_pb.js';
import { compareBytes, type ChownSpec, type FileAction, type Output, type Platform, type ResolvedMount, type Vertex } from '../../../src/llb/graph.js';

export function referenceOpBytes(vertex: Vertex, inputDigests: string[], platform: Platform | undefined): Uint8Array {
  return toBinary(OpSchema, toOp(vertex, inputDigests, { ...(platform ? { platform } : {}) }));
}

export function referenceTerminalBytes(digest: string, index: number): Uint8Array {
  return toBinary(OpSchema, create(OpSchema, { inputs: [{ digest, index: BigInt(index) }] }));
}

function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort(compareBytes)) out[k] = r[k]!;
  return out;
}

function toOp(vertex: Vertex, inputDigests: string[], options: { platform?: Platform }): Op {
  const inputs = vertex.inputs.map((input: Output, i) => ({ digest: inputDigests[i]!, index: BigInt(input.index) }));
  const platform = toPlatform(vertex.options.platform ?? options.platform);
  const op = create(OpSchema, { inputs, ...(platform ? { platform } : {}) });
  switch (vertex.kind) {
    case 'source':
      op.op = { case: 'source', value: { $typeName: 'pb.SourceOp', identifier: vertex.identifier, attrs: sortedRecord(vertex.attrs) } };
      break;
    case 'exec':
      op.op = {
        case: 'exec',
        value: {
          $typeName: 'pb.ExecOp',
          meta: {
            $typeName: 'pb.Meta',
            args: [...vertex.meta.args],
            env: [...vertex.meta.env],
            cwd: vertex.meta.cwd,
            user: vertex.meta.user,
            extraHosts: (vertex.meta.extraHosts ?? []).map((h) => ({ $typeName: 'pb.HostIP', Host: h.host, IP: h.ip })),
            hostname: vertex.meta.hostname ?? '',
          },
          mounts: vertex.mounts.map(toMount),
          network: vertex.network === 'host' ? NetMode.HOST : vertex.network === 'none' ? NetMode.NONE : NetMode.UNSET,
          security: vertex.security === 'insecure' ? SecurityMode.INSECURE : SecurityMode.SANDBOX,
        },
      };
      break;
    case 'file':
      op.op = {
        case: 'file',
        value: { $typeName: 'pb.FileOp', actions: vertex.actions.map((a) => toFileAction(a.input, a.secondaryInput, a.output, a.action)) },
      };
      break;
  }
  return op;
}

function toMount(m: ResolvedMount): Mount {
  const mountType = { bind: MountType.BIND, secret: MountType.SECRET, ssh: MountType.SSH, cache: MountType.CACHE, tmpfs: MountType.TMPFS }[m.type];
  const mount: Mount = {
    $typeName: 'pb.Mount',
    input: BigInt(m.input),
    selector: m.selector,
    dest: m.dest,
    output: BigInt(m.output),
    readonly: m.readonly,
    mountType,
    resultID: '',
  };
  if (m.cache) {
    const sharing = { shared: CacheSharingOpt.SHARED, private: CacheSharingOpt.PRIVATE, locked: CacheSharingOpt.LOCKED }[m.cache.sharing];
    mount.cacheOpt = { $typeName: 'pb.CacheOpt', ID: m.cache.id, sharing };
  }
  if (m.secret) mount.secretOpt = { $typeName: 'pb.SecretOpt', ID: m.secret.id, uid: m.secret.uid, gid: m.secret.gid, mode: m.secret.mode, optional: m.secret.optional };
  if (m.ssh) mount.SSHOpt = { $typeName: 'pb.SSHOpt', ID: m.ssh.id, uid: m.ssh.uid, gid: m.ssh.gid, mode: m.ssh.mode, optional: m.ssh.optional };
  return mount;
}

function toFileAction(input: number, secondaryInput: number, output: number, a: FileAction): PbFileAction {
  const base = { $typeName: 'pb.FileAction' as const, input: BigInt(input), secondaryInput: BigInt(secondaryInput), output: BigInt(output) };
  // BuildKit takes timestamps in nanoseconds; -1 means "keep/now".
  const ts = (ms: number | undefined): bigint => (ms === undefined ? -1n : BigInt(Math.trunc(ms)) * 1_000_000n);
  switch (a.action) {
    case 'mkdir':
      return {
        ...base,
        action: {
          case: 'mkdir',
          value: { $typeName: 'pb.FileActionMkDir', path: a.path, mode: a.mode, makeParents: a.makeParents, ...owner(a.owner, input), timestamp: ts(a.timestamp) },
        },
      };
    case 'mkfile':
      return {
        ...base,
        action: {
          case: 'mkfile',
          value: { $typeName: 'pb.FileActionMkFile', path: a.path, mode: a.mode, data: a.data, ...owner(a.owner, input), timestamp: ts(a.timestamp) },
        },
      };
    case 'rm':
      return {
        ...base,
        action: { case: 'rm', value: { $typeName: 'pb.FileActionRm', path: a.path, allowNotFound: a.allowNotFound, allowWildcard: a.allowWildcard } },
      };
    case 'copy': {
      const o = a.options;
      return {
        ...base,
        action: {
          case: 'copy',
          value: {
            $typeName: 'pb.FileActionCopy',
            src: a.src,
            dest: a.dest,
            ...owner(o.owner, input),
            // -1 keeps the source's permission bits.
            mode: o.mode ?? -1,
            followSymlink: o.followSymlink ?? false,
            dirCopyContents: o.dirCopyContents ?? false,
            attemptUnpackDockerCompatibility: o.attemptUnpack ?? false,
            createDestPath: o.createDestPath ?? false,
            allowWildcard: o.allowWildcard ?? false,
            allowEmptyWildcard: o.allowEmptyWildcard ?? false,
            timestamp: ts(o.timestamp),
          },
        },
      };
    }
  }
}

function owner(spec: ChownSpec | undefined, input: number): { owner?: { $typeName: 'pb.ChownOpt'; user?: UserOpt; group?: UserOpt } } {
  if (!spec || (spec.user === undefined && spec.group === undefined)) return {};
  const one = (v: number | string | undefined): UserOpt | undefined => {
    if (v === undefined) return undefined;
    if (typeof v === 'number') return { $typeName: 'pb.UserOpt', user: { case: 'byID', value: v } };
    // A name is looked up in /etc/passwd and /etc/group of the state the action changes.
    if (input < 0) throw new TypeError(`cannot resolve the user name ${JSON.stringify(v)} on an empty filesystem; use a numeric id`);
    return { $typeName: 'pb.UserOpt', user: { case: 'byName', value: { $typeName: 'pb.NamedUserOpt', name: v, input: BigInt(input) } } };
  };
  const user = one(spec.user);
  const group = one(spec.group);
  return { owner: { $typeName: 'pb.ChownOpt', ...(user ? { user } : {}), ...(group ? { group } : {}) } };
}

function toPlatform(p: Platform | undefined): PbPlatform | undefined {
  if (!p) return undefined;
  return { $typeName: 'pb.Platform', OS: p.os, Architecture: p.architecture, Variant: p.variant ?? '', OSVersion: '', OSFeatures: [] };
}

