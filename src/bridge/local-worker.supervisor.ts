// Runs the worker agent for this machine as a child process (npm start's "local worker"), restarts
// it with backoff if it dies, and stops it — and through it every trainer — on shutdown.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig, REPO_ROOT } from '../config/app-config.js';

const STOP_GRACE_MS = 20_000;

@Injectable()
export class LocalWorkerSupervisor {
  private readonly log = new Logger('LocalWorker');
  private child: ChildProcess | null = null;
  private stopping = false;
  private backoffMs = 1000;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  start(): void {
    this.stopping = false;
    this.spawnAgent();
  }

  /** The local worker's persistent id (its host id), once it has started at least once. */
  workerId(): string | null {
    try {
      return readFileSync(join(this.config.varDir, 'worker', 'worker_id'), 'utf8').trim() || null;
    } catch {
      return null;
    }
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  private spawnAgent(): void {
    const args = [
      '-u',
      '-m',
      'trainyard_worker',
      '--connect',
      this.config.zmqConnectEndpoint,
      '--state-dir',
      join(this.config.varDir, 'worker'),
      '--cpu-slots',
      String(this.config.localCpuSlots),
      '--heartbeat-ms',
      String(this.config.heartbeatMs),
      '--liveness',
      String(this.config.liveness),
    ];
    const env = {
      ...process.env,
      PYTHONPATH: [join(REPO_ROOT, 'python-bridge'), process.env.PYTHONPATH].filter(Boolean).join(':'),
      TRAINYARD_WORKER_KEY: this.config.workerKey,
      PYTHONUNBUFFERED: '1',
    };
    const child = spawn(this.config.python, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
    this.child = child;
    const started = Date.now();
    // Python logs everything to stderr; keep each line's own level rather than the stream's.
    const levelOf = (line: string, fallback: 'log' | 'warn'): 'log' | 'warn' | 'error' =>
      /\b(ERROR|CRITICAL|Traceback)\b/.test(line) ? 'error' : /\bWARNING\b/.test(line) ? 'warn' : /\b(INFO|DEBUG)\b/.test(line) ? 'log' : fallback;
    const forward = (stream: NodeJS.ReadableStream | null, level: 'log' | 'warn') => {
      let buf = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) this.log[levelOf(line, level)](line);
        }
      });
    };
    forward(child.stdout, 'log');
    forward(child.stderr, 'warn');
    child.on('error', (e) => this.log.error(`cannot start ${this.config.python}: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (this.stopping) return;
      if (Date.now() - started > 60_000) this.backoffMs = 1000;
      this.log.error(`worker agent exited (code ${code}, signal ${signal}); restarting in ${this.backoffMs} ms`);
      this.restartTimer = setTimeout(() => this.spawnAgent(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 32_000);
    });
    this.log.log(`worker agent started (pid ${child.pid}) -> ${this.config.zmqConnectEndpoint}`);
  }

  /** SIGTERM lets the agent stop its trainers (each writes a final checkpoint); SIGKILL after a grace. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    this.log.log('worker agent stopped');
  }
}
