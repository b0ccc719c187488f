// Decodes the ops of a marshaled definition with protobuf-es, the reference
// the hand-written op encoder is held to: for inspecting what the compiler made.
import { fromBinary } from '@bufbuild/protobuf';
import { OpSchema, type Op } from '../../../src/buildkit/gen/buildkit/solver/ops_pb.js';
import type { LlbDefinition } from '../../../src/buildkit/messages.js';
import { digestOf } from '../../../src/llb/definition.js';

export function decodeOps(definition: LlbDefinition): { digest: string; op: Op }[] {
  return definition.def.map((bytes) => ({ digest: digestOf(bytes), op: fromBinary(OpSchema, bytes) }));
}
