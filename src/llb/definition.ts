// Turns an LLB graph (./graph.ts) into BuildKit's `Definition`: one marshaled
// `Op` per vertex, inputs before the ops that read them, named by digest
// (`sha256:` + hex SHA-256 of the op's bytes), and a terminal op last whose
// only input is the result. Pure and deterministic: the same graph gives the
// same bytes every time (map keys sorted, fields in number order).
//
// Must never: vary the bytes with object identity or insertion order, or
// include anything not in the graph (no secret values, no host paths).
import { createHash } from 'node:crypto';
import { create, toBinary, fromBinary } from '@bufbuild/protobuf';
import {
  CacheSharingOpt,
  DefinitionSchema,
  MountType,
  NetMode,
  OpMetadataSchema,
  OpSchema,
  SecurityMode,
  type Definition,
  type FileAction as PbFileAction,
  type Mount,
  type Op,
  type OpMetadata,
  type Platform as PbPlatform,
  type UserOpt,
} from '../buildkit/gen/buildkit/solver/ops_pb.js';
import {
  compareBytes,
  type ChownSpec,
  type FileAction,
  type Output,
  type Platform,
  type ResolvedMount,
  type State,
  type Vertex,
} from './graph.js';

export interface MarshalOptions {
  /** Set on every op that names no platform of its own. */
  platform?: Platform;
}

export interface MarshaledDefinition {
  /** The protobuf message, ready to put in a SolveRequest. */
  definition: Definition;
  /** Digest of each op in `definition.def`, same order; the terminal op is last. */
  digests: string[];
  /** Digest of the op producing the result (the terminal op's input). */
  result: string;
}

/** `sha256:<hex>` of the bytes, BuildKit's digest form. */
export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Marshals everything `state` depends on. A scratch (null) state gives a
 * definition with no ops, which BuildKit solves to an empty result.
 */
export function marshalDefinition(state: State, options: MarshalOptions = {}): MarshaledDefinition {
  const definition = create(DefinitionSchema, { def: [], metadata: {} });
  const digests: string[] = [];
  if (state === null) return { definition, digests, result: '' };
  const done = new Map<Vertex, string>();
  const metadata = new Map<string, OpMetadata>();

  const visit = (vertex: Vertex): string => {
    const known = done.get(vertex);
    if (known) return known;
    const inputDigests = vertex.inputs.map((input) => visit(input.vertex));
    const op = toOp(vertex, inputDigests, options);
    const bytes = toBinary(OpSchema, op);
    const digest = digestOf(bytes);
    done.set(vertex, digest);
    // Two separately built but identical ops share a digest; keep one.
    if (!digests.includes(digest)) {
      digests.push(digest);
      definition.def.push(bytes);
      const meta = toMetadata(vertex);
      if (meta) metadata.set(digest, meta);
    }
    return digest;
  };

  const result = visit(state.vertex);
  const terminal = create(OpSchema, { inputs: [{ digest: result, index: BigInt(state.index) }] });
  const terminalBytes = toBinary(OpSchema, terminal);
  digests.push(digestOf(terminalBytes));
  definition.def.push(terminalBytes);
  for (const key of [...metadata.keys()].sort(compareBytes)) definition.metadata[key] = metadata.get(key)!;
  return { definition, digests, result };
}

/** The Definition's own bytes (for hashing or saving), deterministic like the ops. */
export function definitionBytes(def: MarshaledDefinition): Uint8Array {
  return toBinary(DefinitionSchema, def.definition);
}

/** Decodes the ops of a definition, for inspection and tests. */
export function decodeOps(definition: Definition): { digest: string; op: Op }[] {
  return definition.def.map((bytes) => ({ digest: digestOf(bytes), op: fromBinary(OpSchema, bytes) }));
}

function toOp(vertex: Vertex, inputDigests: string[], options: MarshalOptions): Op {
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

function toMetadata(vertex: Vertex): OpMetadata | undefined {
  const description: Record<string, string> = { ...(vertex.options.description ?? {}) };
  if (vertex.options.customName) description['llb.customname'] = vertex.options.customName;
  const caps: Record<string, boolean> = {};
  for (const cap of [...vertex.caps].sort(compareBytes)) caps[cap] = true;
  return create(OpMetadataSchema, {
    ignoreCache: vertex.options.ignoreCache === true,
    description: sortedRecord(description),
    caps,
  });
}

function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort(compareBytes)) out[k] = r[k]!;
  return out;
}
