// Encodes and decodes the signed envelope of DESIGN.md's wire protocol. Pure: no sockets here, so the
// same function serves the broker, the benchmarks and the test vectors.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  MAX_MESSAGE_BYTES,
  MESSAGE_TYPES,
  PROTOCOL_MAGIC,
  PROTOCOL_VERSION,
  RUN_SCOPED_TYPES,
  type ContentByType,
  type Header,
  type Message,
  type MessageType,
} from '../contracts/wire.js';

export type DecodeErrorReason =
  | 'frames'
  | 'magic'
  | 'oversized'
  | 'signature'
  | 'header_json'
  | 'header_fields'
  | 'content_json'
  | 'unknown_type'
  | 'version';

export class DecodeError extends Error {
  constructor(
    readonly reason: DecodeErrorReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

export function sign(key: Buffer, header: Buffer, content: Buffer): string {
  return createHmac('sha256', key).update(header).update(content).digest('hex');
}

export function encode<T extends MessageType>(
  key: Buffer,
  header: Header & { type: T },
  content: ContentByType[T],
  buffers: Buffer[] = [],
): Buffer[] {
  const h = Buffer.from(JSON.stringify(header));
  const c = Buffer.from(JSON.stringify(content));
  return [Buffer.from(PROTOCOL_MAGIC), Buffer.from(sign(key, h, c)), h, c, ...buffers];
}

export function makeHeader<T extends MessageType>(
  session: string,
  type: T,
  runScope?: { run_id: string; seq: number },
): Header & { type: T } {
  const header: Header & { type: T } = {
    msg_id: randomUUID(),
    session,
    type,
    version: PROTOCOL_VERSION,
    date: new Date().toISOString(),
  };
  if (runScope) {
    header.run_id = runScope.run_id;
    header.seq = runScope.seq;
  }
  return header;
}

const SIGNATURE_HEX_LENGTH = 64;

/**
 * Verifies and parses frames (without the ROUTER identity). Throws DecodeError; never anything else.
 * Content is parsed but its fields are validated per type by the caller (src/bridge/message.validation.ts)
 * so that unknown extra fields stay accepted (forward compatible).
 */
export function decode(key: Buffer, frames: Buffer[]): Message {
  if (frames.length < 4) throw new DecodeError('frames', `expected at least 4 frames, got ${frames.length}`);
  const [magic, signature, h, c, ...buffers] = frames;
  if (!magic.equals(MAGIC_BYTES)) throw new DecodeError('magic', 'first frame is not TY1');
  if (h.length + c.length > MAX_MESSAGE_BYTES) {
    throw new DecodeError('oversized', `header+content ${h.length + c.length} bytes > ${MAX_MESSAGE_BYTES}`);
  }
  const expected = Buffer.from(sign(key, h, c));
  if (signature.length !== SIGNATURE_HEX_LENGTH || !timingSafeEqual(signature, expected)) {
    throw new DecodeError('signature', 'HMAC does not match');
  }
  const header = parseJson(h, 'header_json') as Partial<Header>;
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new DecodeError('header_json', 'not an object');
  if (typeof header.msg_id !== 'string' || typeof header.session !== 'string' || typeof header.type !== 'string' || typeof header.date !== 'string') {
    throw new DecodeError('header_fields', 'msg_id, session, type and date must be strings');
  }
  if (header.version !== PROTOCOL_VERSION) throw new DecodeError('version', `unsupported version ${String(header.version)}`);
  if (!MESSAGE_TYPES.includes(header.type as MessageType)) throw new DecodeError('unknown_type', header.type);
  if (RUN_SCOPED_TYPES.includes(header.type as MessageType)) {
    if (typeof header.run_id !== 'string' || !Number.isSafeInteger(header.seq) || (header.seq as number) < 1) {
      throw new DecodeError('header_fields', `${header.type} needs run_id and seq >= 1`);
    }
  }
  const content = parseJson(c, 'content_json');
  if (!content || typeof content !== 'object' || Array.isArray(content)) throw new DecodeError('content_json', 'not an object');
  return { header: header as Header, content: content as ContentByType[MessageType], buffers };
}

const MAGIC_BYTES = Buffer.from(PROTOCOL_MAGIC);

function parseJson(b: Buffer, reason: DecodeErrorReason): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch (e) {
    throw new DecodeError(reason, (e as Error).message);
  }
}
