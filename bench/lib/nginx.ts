// nginx as a bench target: one worker in the foreground, as a child of the wrapper that calls
// `runNginx` (so the harness measures nginx's whole process tree), with its own prefix in /tmp;
// SIGTERM to the wrapper stops nginx gracefully (SIGQUIT), and nginx's exit ends the wrapper.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NginxTarget {
  /** Names the prefix directory (`strata-nginx-<name>-…`). */
  name: string;
  workerConnections: number;
  /** The `http {}` block's own directives and servers; `prefix` is nginx's working directory. */
  http: (prefix: string) => string;
}

export function runNginx(target: NginxTarget): void {
  const prefix = mkdtempSync(join(tmpdir(), `strata-nginx-${target.name}-`));
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
error_log ${prefix}/error.log warn;
pid ${prefix}/nginx.pid;
events { worker_connections ${target.workerConnections}; }
http {
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
${target.http(prefix)}
}
`,
  );
  const nginx = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: 'inherit' });
  process.on('SIGTERM', () => {
    nginx.kill('SIGQUIT');
    nginx.once('exit', () => process.exit(0));
  });
  nginx.on('exit', (code) => process.exit(code ?? 1));
}
