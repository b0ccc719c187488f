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
  return new DefinitionMarshaler(options).marshal(state);
}

interface EncodedOp {
  digest: string;
  bytes: Uint8Array;
  meta: OpMetadataFields | undefined;
}

/**
 * Marshals several states of one graph, encoding and hashing each op once
 * however many of the definitions hold it. Each definition is byte for byte
 * what `marshalDefinition` gives for its state.
 */
export class DefinitionMarshaler {
  readonly #options: MarshalOptions;
  readonly #encoded = new Map<Vertex, EncodedOp>();

  constructor(options: MarshalOptions = {}) {
    this.#options = options;
  }

  marshal(state: State): MarshaledDefinition {
    const definition: LlbDefinition = { def: [], metadata: {} };
    const digests: string[] = [];
    if (state === null) return { definition, digests, result: '' };
    const visited = new Set<Vertex>();
    // Two separately built but identical ops share a digest; keep one.
    const kept = new Set<string>();
    const metadata = new Map<string, OpMetadataFields>();

    const visit = (vertex: Vertex): EncodedOp => {
      const op = this.#encode(vertex);
      if (visited.has(vertex)) return op;
      visited.add(vertex);
      for (const input of vertex.inputs) visit(input.vertex);
      if (!kept.has(op.digest)) {
        kept.add(op.digest);
        digests.push(op.digest);
        definition.def.push(op.bytes);
        if (op.meta) metadata.set(op.digest, op.meta);
      }
      return op;
    };

    const result = visit(state.vertex).digest;
    const terminalBytes = encodeTerminalOp(result, state.index);
    digests.push(digestOf(terminalBytes));
    definition.def.push(terminalBytes);
    for (const key of [...metadata.keys()].sort(compareBytes)) definition.metadata[key] = metadata.get(key)!;
    return { definition, digests, result };
  }

  /** The op's bytes and digest (its inputs' first: an op names its inputs by digest). */
  #encode(vertex: Vertex): EncodedOp {
    const known = this.#encoded.get(vertex);
    if (known) return known;
    const inputDigests = vertex.inputs.map((input) => this.#encode(input.vertex).digest);
    const bytes = encodeOp(vertex, inputDigests, this.#options.platform);
    const op = { digest: digestOf(bytes), bytes, meta: toMetadata(vertex) };
    this.#encoded.set(vertex, op);
    return op;
  }
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
