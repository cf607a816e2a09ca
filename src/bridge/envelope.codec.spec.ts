import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { DecodeError, decode, encode, makeHeader } from './envelope.codec.js';

interface Vector {
  name: string;
  valid: boolean;
  reason?: string;
  frames_b64: string[];
  header?: unknown;
  content?: unknown;
}
const file = JSON.parse(readFileSync(new URL('../../test/vectors/wire/vectors.json', import.meta.url), 'utf8')) as {
  key: string;
  vectors: Vector[];
};
const key = Buffer.from(file.key);
const frames = (v: Vector) => v.frames_b64.map((f) => Buffer.from(f, 'base64'));

describe('envelope codec against the shared wire vectors', () => {
  it('has both valid and invalid vectors', () => {
    expect(file.vectors.filter((v) => v.valid).length).toBeGreaterThan(3);
    expect(file.vectors.filter((v) => !v.valid).length).toBeGreaterThan(5);
  });

  for (const v of file.vectors.filter((x) => x.valid)) {
    it(`decodes ${v.name}`, () => {
      const m = decode(key, frames(v));
      expect(m.header).toEqual(v.header);
      expect(m.content).toEqual(v.content);
      expect(m.buffers.length).toBe(v.frames_b64.length - 4);
    });
  }

  for (const v of file.vectors.filter((x) => !x.valid)) {
    it(`rejects ${v.name} with ${v.reason}`, () => {
      let err: unknown;
      try {
        decode(key, frames(v));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).reason).toBe(v.reason);
    });
  }

  it('round-trips what it encodes and re-encodes the vectors byte for byte', () => {
    for (const v of file.vectors.filter((x) => x.valid)) {
      const m = decode(key, frames(v));
      const again = encode(key, m.header, m.content, m.buffers);
      // JSON.stringify of the parsed object gives the same bytes as the generator wrote.
      expect(again.map((b) => b.toString('base64'))).toEqual(v.frames_b64);
    }
    const h = makeHeader('s-1', 'metrics', { run_id: 'r-9', seq: 5 });
    const m = decode(key, encode(key, h, { points: [] }));
    expect(m.header.seq).toBe(5);
    expect(m.header.run_id).toBe('r-9');
  });

  it('rejects oversized messages before checking anything else', () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    expect(() => decode(key, [Buffer.from('TY1'), Buffer.alloc(64), big, Buffer.from('{}')])).toThrow(/oversized/);
  });
});
