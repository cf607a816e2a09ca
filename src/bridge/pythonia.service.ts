// Short, synchronous questions to Python on the orchestrator's own machine (environment, a model's
// layer table, what a dataset holds) through pythonia. Never used for training traffic.
//
// pythonia spawns its Python child when the module is first imported and reads PYTHON_BIN then, so
// it is imported lazily, after PYTHON_BIN is set. Every call has a timeout; a timed-out or dead child
// is discarded and the next call starts a fresh one.
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { join } from 'node:path';
import { AppConfig, REPO_ROOT } from '../config/app-config.js';

export class PythonBridgeError extends Error {}
export class PythonBridgeTimeout extends PythonBridgeError {}

interface PythoniaModule {
  python: ((file: string) => Promise<Record<string, (...a: unknown[]) => Promise<unknown>>>) & { exit(): void };
  com: { proc: import('node:child_process').ChildProcess | null; start(): void; write(what: unknown, cb?: unknown): void };
}

const ENTRY = join(REPO_ROOT, 'python-bridge', 'trainyard_worker', 'introspect_entry.py');

@Injectable()
export class PythoniaService implements OnModuleDestroy {
  private readonly log = new Logger('Pythonia');
  private lib: PythoniaModule | null = null;
  private mod: Promise<Record<string, (...a: unknown[]) => Promise<unknown>>> | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly watched = new WeakSet<object>();
  /**
   * Module proxies of Python children we discarded. pythonia frees a proxy's Python object when the
   * proxy is garbage-collected, by object id; ids restart in a new child, so a late free of an old
   * proxy could free the new child's module. Keeping them referenced means no such free is ever sent.
   */
  private readonly retired: unknown[] = [];

  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  env(): Promise<unknown> {
    return this.call('env_json');
  }

  layerTable(model: unknown, inputSize: number, channels: number): Promise<unknown> {
    return this.call('layer_table_json', JSON.stringify(model), inputSize, channels);
  }

  describeDataset(data: unknown): Promise<unknown> {
    return this.call('describe_dataset_json', JSON.stringify(data));
  }

  onModuleDestroy(): void {
    this.reset();
    // pythonia's GC interval is not unref'd; without this the process could not exit on its own.
    (globalThis as { __pythonBridge?: { end?: () => void } }).__pythonBridge?.end?.();
  }

  /** Calls are serialized: the bridge child answers one request at a time anyway. */
  private call(fn: string, ...args: unknown[]): Promise<unknown> {
    const run = () => this.callNow(fn, args);
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async callNow(fn: string, args: unknown[]): Promise<unknown> {
    const timeoutMs = this.config.pythoniaTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PythonBridgeTimeout(`python did not answer ${fn} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const result = await Promise.race([
        (async () => {
          const mod = await this.module();
          const f = mod[fn];
          return (await f(...args)) as unknown;
        })(),
        timeout,
      ]);
      if (typeof result !== 'string') throw new PythonBridgeError(`${fn} returned ${typeof result}, expected JSON text`);
      const parsed = JSON.parse(result) as { ok: boolean; value?: unknown; error?: string };
      if (!parsed.ok) throw new PythonBridgeError(parsed.error ?? `${fn} failed`);
      return parsed.value;
    } catch (e) {
      if (e instanceof PythonBridgeTimeout) this.reset();
      if (e instanceof PythonBridgeError) throw e;
      this.reset();
      throw new PythonBridgeError(`python bridge failed in ${fn}: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private async module() {
    if (!this.lib) {
      process.env.PYTHON_BIN = this.config.python;
      // CommonJS module: its exports object is the default export under ESM.
      const imported = (await import('pythonia')) as unknown as { default?: PythoniaModule } & PythoniaModule;
      this.lib = imported.default ?? imported;
      // pythonia's periodic GC task writes to the child even after it is gone (a TypeError thrown
      // from a timer, which would take the whole orchestrator down). Drop writes while no child runs.
      const com = this.lib.com;
      const write = com.write.bind(com);
      com.write = (what, cb) => {
        if (com.proc) write(what, cb);
      };
    }
    if (!this.mod || !this.lib.com.proc) this.mod = this.lib.python(ENTRY);
    const lib = this.lib;
    const proc = lib.com.proc;
    if (proc && !this.watched.has(proc)) {
      this.watched.add(proc);
      // A child that dies (OOM, crash) must not leave a dead handle behind: the next call restarts it.
      proc.once('exit', (code) => {
        if (lib.com.proc === proc) {
          this.log.warn(`python bridge child exited (${code}); it restarts on the next call`);
          lib.com.proc = null;
          if (this.mod) this.retired.push(this.mod);
          this.mod = null;
        }
      });
    }
    return this.mod;
  }

  private reset(): void {
    if (this.mod) this.retired.push(this.mod);
    this.mod = null;
    const proc = this.lib?.com.proc;
    if (this.lib && proc) {
      this.lib.com.proc = null;
      proc.kill('SIGKILL');
    }
  }
}
