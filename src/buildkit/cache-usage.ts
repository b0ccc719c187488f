// Control.DiskUsage and Control.Prune: the builder's cache records. Kept out
// of the client module so that a build, which never calls them, does not load
// their protobuf-es schemas.
import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { CacheRecord, PruneOptions } from './api.js';
import { DiskUsageRequestSchema, DiskUsageResponseSchema, PruneRequestSchema, UsageRecordSchema, type UsageRecord } from './gen/buildkit/control/control_pb.js';
import type { GrpcChannel } from './grpc.js';
import { pbDecoder, pbEncoder } from './pb-codec.js';

const CONTROL = '/moby.buildkit.v1.Control';

export async function diskUsage(channel: GrpcChannel): Promise<CacheRecord[]> {
  const res = await channel.unary(`${CONTROL}/DiskUsage`, pbEncoder(DiskUsageRequestSchema), pbDecoder(DiskUsageResponseSchema), {}, { timeoutMs: 60_000 });
  return res.record.map(toCacheRecord);
}

export async function prune(channel: GrpcChannel, options: PruneOptions = {}): Promise<CacheRecord[]> {
  const out: CacheRecord[] = [];
  const stream = channel.serverStream(`${CONTROL}/Prune`, pbEncoder(PruneRequestSchema), pbDecoder(UsageRecordSchema), {
    all: options.all ?? false,
    filter: options.filters ?? [],
    keepDuration: BigInt(Math.round((options.keepDurationSeconds ?? 0) * 1e9)),
    keepBytes: BigInt(options.keepBytes ?? 0),
  });
  for await (const r of stream) out.push(toCacheRecord(r));
  return out;
}

function toCacheRecord(r: UsageRecord): CacheRecord {
  return {
    id: r.ID,
    size: Number(r.Size),
    inUse: r.InUse,
    mutable: r.Mutable,
    shared: r.Shared,
    type: r.RecordType,
    description: r.Description,
    usageCount: Number(r.UsageCount),
    ...(r.CreatedAt ? { createdAt: timestampDate(r.CreatedAt) } : {}),
    ...(r.LastUsedAt ? { lastUsedAt: timestampDate(r.LastUsedAt) } : {}),
  };
}
