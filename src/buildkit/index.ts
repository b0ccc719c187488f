// Hangar's BuildKit client: gRPC over the Docker Engine socket or to a
// standalone buildkitd, the build session Hangar serves (health, secrets,
// file sync, registry auth), the Control and gateway APIs, and progress.
//
// Must never: put a secret value in a log, an error, argv, progress output
// or anywhere but the session's GetSecret answer.
//
// The entry point:
//
//   const client = await connectBuilder(flags.builder, process.env, tls);
//   const workers = await client.listWorkers();
//   const secrets = new SecretStore();
//   secrets.set('token', Buffer.from(value));
//   const result = await client.build({
//     frontend: async (gw) => {
//       const { config } = await gw.resolveImageConfig('docker.io/library/busybox:latest');
//       const def = marshalDefinition(compiled(gw.sessionId, config), { platform });
//       const ref = await gw.solve(def);
//       return { ref, imageConfig: finalConfig };
//     },
//     exporter: { type: 'moby', name: 'myapp:latest' },
//     secrets,                                        // wiped when build() settles
//     localDirs: { context: { dir, excludePatterns }, dockerfile: dockerfileDir },
//     onProgress: (e) => view.update(e),              // logs already redacted
//     signal: abortController.signal,                 // cancels the solve on the builder
//     entitlements: ['network.host'],
//   });
//   client.close();
//
// Builder URLs: `--builder URL` > HANGAR_BUILDER > DOCKER_HOST >
// unix:///var/run/docker.sock. `unix://` and `tcp://` are a Docker Engine
// (gRPC over the `/grpc` and `/session` upgrades); `buildkit+unix://` and
// `buildkit+tcp://` are a buildkitd (TLS from `--builder-tls-ca/-cert/-key`).
export type * from './api.js';
export { SecretStore, SECRET_MAX_BYTES } from './secrets.js';
export { connectBuilder, resolveBuilderUrl, BuildFailedError, BuildCancelledError, type ConnectOptions } from './client.js';
export { parseDockerignore, readDockerignore, PatternMatcher } from './filesync/dockerignore.js';
export { GrpcError, GrpcStatus } from './grpc.js';
export { SecretRedactor } from './redact.js';
export { engineImageId } from './engine-images.js';
export { isLocalBuilder, parseBuilderUrl } from './transport.js';
