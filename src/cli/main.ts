// Entry point of `npm run cli` (dist/src/cli/main.js). Ctrl-C stops long commands (watch) cleanly.
import { processIO, runCli } from './cli.js';

const abort = new AbortController();
process.once('SIGINT', () => abort.abort());
process.once('SIGTERM', () => abort.abort());
// `npm run cli -- runs | head`: a closed pipe ends the output, it is not a crash.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const code = await runCli(process.argv.slice(2), processIO(abort.signal));
process.exitCode = code;
// Wait until everything written reached the pipe (a large export to stdout), then make sure nothing
// left open (a keep-alive socket) holds the process: the timer only fires if something still does.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
setTimeout(() => process.exit(code), 1000).unref();
