// The Dockerfiles the benchmark builds. Both builders get the same text.

/** A large context copied whole, then a step that mounts two secrets. */
export const CONTEXT_DOCKERFILE = `FROM busybox
COPY . /app
RUN --mount=type=secret,id=BENCH_TOKEN --mount=type=secret,id=BENCH_KEY \\
    test -s /run/secrets/BENCH_TOKEN && test -s /run/secrets/BENCH_KEY && du -s /app > /app-size
`;

/** 30 stages of small RUN steps; the last stage pulls from every other one so all are solved. */
export function stagesDockerfile(stages = 30): string {
  const lines: string[] = [];
  for (let i = 1; i < stages; i++) {
    lines.push(`FROM busybox AS s${i}`, `RUN echo ${i} > /n && mkdir -p /out && cp /n /out/s${i}`, `RUN sed -i 's/$/-done/' /out/s${i}`, '');
  }
  lines.push('FROM busybox');
  for (let i = 1; i < stages; i++) lines.push(`COPY --from=s${i} /out/s${i} /all/`);
  lines.push('RUN cat /all/* | wc -l > /count');
  return `${lines.join('\n')}\n`;
}
