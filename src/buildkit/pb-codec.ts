// Encoders and decoders from protobuf-es schemas, for the calls that have no
// hand-written codec (cache usage and pruning, which no build makes) and for
// tests, where the generated schemas are the reference the hand-written
// codecs in ./messages.ts are checked against. Loading this module loads the
// protobuf-es runtime and the schemas it is given; a build never does.
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { Decoder, Encoder } from './messages.js';

/** Fields the schema does not declare are skipped, not kept. */
const DECODE = { readUnknownFields: false } as const;

export function pbEncoder<S extends DescMessage>(schema: S): Encoder<MessageInitShape<S>> {
  return (value) => toBinary(schema, create(schema, value));
}

export function pbDecoder<S extends DescMessage>(schema: S): Decoder<MessageShape<S>> {
  return (bytes) => fromBinary(schema, bytes, DECODE);
}
