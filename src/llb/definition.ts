// Turns an LLB graph (./graph.ts) into BuildKit's `Definition`: one marshaled
// `Op` per vertex, inputs before the ops that read them, named by digest
// (`sha256:` + hex SHA-256 of the op's bytes), and a terminal op last whose
// only input is the result. Pure and deterministic: the same graph gives the
// same bytes every time (map keys sorted, fields in number order).
//
// Must never: vary the bytes with object identity or insertion order, or
// include anything not in the graph (no secret values, no host paths).
import { createHash } from 'node:crypto';
import { encodeDefinition, type LlbDefinition, type OpMetadataFields } from '../buildkit/messages.js';
import { compareBytes, type Platform, type State, type Vertex } from './graph.js';
import { encodeOp, encodeTerminalOp } from './op-wire.js';

export interface MarshalOptions {
  /** Set on every op that names no platform of its own. */
  platform?: Platform;
}

export interface MarshaledDefinition {
  /** The message, ready to put in a SolveRequest. */
  definition: LlbDefinition;
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
  const definition: LlbDefinition = { def: [], metadata: {} };
  const digests: string[] = [];
  if (state === null) return { definition, digests, result: '' };
  const done = new Map<Vertex, string>();
  const metadata = new Map<string, OpMetadataFields>();

  const visit = (vertex: Vertex): string => {
    const known = done.get(vertex);
    if (known) return known;
    const inputDigests = vertex.inputs.map((input) => visit(input.vertex));
    const bytes = encodeOp(vertex, inputDigests, options.platform);
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
  const terminalBytes = encodeTerminalOp(result, state.index);
  digests.push(digestOf(terminalBytes));
  definition.def.push(terminalBytes);
  for (const key of [...metadata.keys()].sort(compareBytes)) definition.metadata[key] = metadata.get(key)!;
  return { definition, digests, result };
}

/** The Definition's own bytes (for hashing or saving), deterministic like the ops. */
export function definitionBytes(def: MarshaledDefinition): Uint8Array {
  return encodeDefinition(def.definition);
}

function toMetadata(vertex: Vertex): OpMetadataFields | undefined {
  const description: Record<string, string> = { ...(vertex.options.description ?? {}) };
  if (vertex.options.customName) description['llb.customname'] = vertex.options.customName;
  const caps: Record<string, boolean> = {};
  for (const cap of [...vertex.caps].sort(compareBytes)) caps[cap] = true;
  return {
    ignoreCache: vertex.options.ignoreCache === true,
    description: sortedRecord(description),
    caps,
  };
}

function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort(compareBytes)) out[k] = r[k]!;
  return out;
}
