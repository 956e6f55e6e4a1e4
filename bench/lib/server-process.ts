import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** A server under test, started pinned to one core. */
export interface ServerProcess {
  name: string;
  pid: number;
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A loopback port nobody listens on right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts `command args` under `taskset -c <core>` with PORT in its environment and waits until
 * the port accepts connections (or the process dies, or 15 s pass).
 */
export async function startServer(options: {
  name: string;
  command: string;
  args: string[];
  port: number;
  core: number | string;
  env?: Record<string, string>;
  path?: string;
  scheme?: 'http' | 'https';
}): Promise<ServerProcess> {
  // Something else on the port would answer the readiness probe and the load: refuse it.
  if (await canConnect(options.port)) throw new Error(`port ${options.port} is already in use`);
  const child = spawn('taskset', ['-c', String(options.core), options.command, ...options.args], {
    env: { ...process.env, ...options.env, PORT: String(options.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 15_000;
  if (await canConnect(options.port)) {
    child.kill('SIGKILL');
    throw new Error(`${options.name}: port ${options.port} is already taken by another process`);
  }
  while (!(await canConnect(options.port))) {
    if (exited) throw new Error(`${options.name} exited before listening:\n${output.slice(-2000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `${options.name} did not listen on ${options.port} within 15 s:\n${output.slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name: options.name,
    pid: child.pid!,
    url: `${options.scheme ?? 'http'}://127.0.0.1:${options.port}${options.path ?? '/'}`,
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
