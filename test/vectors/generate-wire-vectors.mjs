// Writes test/vectors/wire/vectors.json: signed frames with their expected decode (or rejection
// reason). jest (src/bridge) and pytest (python-bridge) both read it, so the TS and Python codecs
// cannot drift apart. Independent of both codecs on purpose: it signs with node:crypto directly.
// Run: node test/vectors/generate-wire-vectors.mjs
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const key = 'test-worker-key-0123456789';
const b64 = (b) => Buffer.from(b).toString('base64');
const sig = (h, c) => createHmac('sha256', key).update(h).update(c).digest('hex');
const header = (type, extra = {}) => ({
  msg_id: '00000000-0000-4000-8000-0000000000' + String(Object.keys(extra).length + type.length).padStart(2, '0'),
  session: '11111111-1111-4111-8111-111111111111',
  type,
  version: 1,
  date: '2026-12-04T12:00:00.000Z',
  ...extra,
});
const valid = (name, hdr, content, buffers = []) => {
  const h = JSON.stringify(hdr);
  const c = JSON.stringify(content);
  return { name, valid: true, frames_b64: [b64('TY1'), b64(sig(h, c)), b64(h), b64(c), ...buffers.map(b64)], header: hdr, content };
};
const invalid = (name, reason, frames) => ({ name, valid: false, reason, frames_b64: frames.map(b64) });

const hello = {
  host: 'gpu-host-1', worker_id: 'w-1', labels: ['a100'], cpu_slots: 1, pid: 4242,
  devices: [{ index: 0, kind: 'cuda', name: 'NVIDIA A100', memory_total_mb: 40960 }],
  versions: { python: '3.11.2', torch: '2.4.0', torchvision: '0.19.0', cuda: '12.1', worker: '0.1.0' },
  runs: [{ run_id: 'r-1', last_seq: 7, state: 'running' }],
};
const metrics = { points: [{ key: 'train_loss', step: 10, epoch: 1, value: 0.5, wall_time: 1796392800.25 }] };
const unicode = { level: 'info', message: 'épochs ✓ 日本' };

const vectors = [
  valid('hello', header('hello'), hello),
  valid('heartbeat', header('heartbeat'), { devices: [], cpu_pct: 12.5, mem_used_mb: 1024, runs: [] }),
  valid('metrics run-scoped', header('metrics', { run_id: 'r-1', seq: 3 }), metrics),
  valid('log unicode', header('log', { run_id: 'r-1', seq: 4 }), unicode),
  valid('ack', header('ack'), { run_id: 'r-1', seq: 3 }),
  valid('extra fields are kept', header('heartbeat', { future_field: 1 }), { devices: [], cpu_pct: null, mem_used_mb: null, runs: [], later: true }),
  valid('with buffer', header('log', { run_id: 'r-2', seq: 1 }), { level: 'debug', message: 'b' }, [Buffer.from([0, 1, 2, 255])]),
];
{
  const h = JSON.stringify(header('hello'));
  const c = JSON.stringify(hello);
  const good = sig(h, c);
  const bad = good.slice(0, -1) + (good.endsWith('0') ? '1' : '0');
  vectors.push(invalid('bad signature', 'signature', ['TY1', bad, h, c]));
  vectors.push(invalid('signature with other key', 'signature', ['TY1', createHmac('sha256', 'other').update(h).update(c).digest('hex'), h, c]));
  vectors.push(invalid('tampered content', 'signature', ['TY1', good, h, c.replace('gpu-host-1', 'gpu-host-2')]));
  vectors.push(invalid('missing frames', 'frames', ['TY1', good, h]));
  vectors.push(invalid('bad magic', 'magic', ['TY0', good, h, c]));
  vectors.push(invalid('short signature', 'signature', ['TY1', good.slice(0, 10), h, c]));
  const hj = '{not json';
  vectors.push(invalid('header not json', 'header_json', ['TY1', sig(hj, c), hj, c]));
  const cj = '[1,2';
  vectors.push(invalid('content not json', 'content_json', ['TY1', sig(h, cj), h, cj]));
  const ut = JSON.stringify(header('explode'));
  vectors.push(invalid('unknown type', 'unknown_type', ['TY1', sig(ut, c), ut, c]));
  const nv = JSON.stringify({ ...header('hello'), version: 99 });
  vectors.push(invalid('future version', 'version', ['TY1', sig(nv, c), nv, c]));
  const noseq = JSON.stringify(header('metrics', { run_id: 'r-1' }));
  const mc = JSON.stringify(metrics);
  vectors.push(invalid('run-scoped without seq', 'header_fields', ['TY1', sig(noseq, mc), noseq, mc]));
  const zero = JSON.stringify(header('metrics', { run_id: 'r-1', seq: 0 }));
  vectors.push(invalid('run-scoped seq 0', 'header_fields', ['TY1', sig(zero, mc), zero, mc]));
  const arr = '[]';
  vectors.push(invalid('content is an array', 'content_json', ['TY1', sig(h, arr), h, arr]));
}

const out = join(dirname(fileURLToPath(import.meta.url)), 'wire', 'vectors.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ key, max_message_bytes: 4 * 1024 * 1024, vectors }, null, 2) + '\n');
console.log(`wrote ${vectors.length} vectors to ${out}`);
