// The ZeroMQ ROUTER socket: all wire I/O of the orchestrator. Verifies and decodes frames, drops and
// counts bad ones, and hands typed messages to one handler. No protocol logic lives here.
import { Logger } from '@nestjs/common';
import * as zmq from 'zeromq';
import { RUN_SCOPED_TYPES, type ContentByType, type Message, type MessageType } from '../contracts/wire.js';
import { DecodeError, decode, encode, makeHeader } from './envelope.codec.js';
import { validateContent } from './message.validation.js';

/**
 * `invalid` is set for a run-scoped message whose content failed validation: it still has to be
 * acknowledged (acks are contiguous), so it goes to the handler marked rather than being dropped.
 */
/** Longest stretch the receive loop decodes without letting the event loop run. */
const YIELD_AFTER_MS = 5;
/**
 * Replay protection for messages that are not run-scoped (hello, heartbeat, accepted, rejected): a
 * signed frame captured and sent again is dropped if its msg_id was seen within the window, or if its
 * date is further than the window from our clock. Run-scoped messages are exempt: the worker's spool
 * legitimately resends them (same msg_id, old date) and (run_id, seq) makes them idempotent.
 */
export const REPLAY_WINDOW_MS = 10 * 60 * 1000;

export type MessageHandler = (peer: Buffer, message: Message, invalid?: string) => void;

export interface BrokerCounters {
  received: number;
  sent: number;
  dropped: Record<string, number>;
}

export class ZmqBroker {
  private readonly log = new Logger('ZmqBroker');
  private readonly socket = new zmq.Router({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
  private readonly key: Buffer;
  readonly session = crypto.randomUUID();
  readonly counters: BrokerCounters = { received: 0, sent: 0, dropped: {} };
  private handler: MessageHandler = () => undefined;
  /** msg_id -> when it stops mattering; pruned as the window moves. */
  private readonly seenIds = new Map<string, number>();
  private lastPrune = 0;
  private sendChain: Promise<void> = Promise.resolve();
  private closed = false;
  private loop: Promise<void> | null = null;

  constructor(key: string | Buffer) {
    this.key = Buffer.isBuffer(key) ? key : Buffer.from(key);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  async bind(endpoint: string): Promise<void> {
    await this.socket.bind(endpoint);
    this.loop = this.receiveLoop();
    this.log.log(`ROUTER bound at ${endpoint}`);
  }

  /** The endpoint actually bound (resolves tcp://127.0.0.1:0 to the chosen port). */
  get endpoint(): string | null {
    return this.socket.lastEndpoint;
  }

  send<T extends MessageType>(peer: Buffer, type: T, content: ContentByType[T], runScope?: { run_id: string; seq: number }): void {
    if (this.closed) return;
    const frames = encode(this.key, makeHeader(this.session, type, runScope), content);
    // zeromq allows one pending send per socket; a ROUTER never blocks (it drops for unknown or full
    // peers), so chaining keeps order without stalling the event loop.
    this.sendChain = this.sendChain
      .then(() => this.socket.send([peer, ...frames]))
      .then(() => {
        this.counters.sent++;
      })
      .catch((e: Error) => {
        if (!this.closed) this.log.warn(`send ${type} failed: ${e.message}`);
      });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sendChain.catch(() => undefined);
    this.socket.close();
    await this.loop?.catch(() => undefined);
  }

  private replayCheck(msgId: string, date: string): 'replayed' | 'stale' | null {
    const now = Date.now();
    const t = Date.parse(date);
    if (!Number.isFinite(t) || Math.abs(now - t) > REPLAY_WINDOW_MS) return 'stale';
    if (this.seenIds.has(msgId)) return 'replayed';
    this.seenIds.set(msgId, t + REPLAY_WINDOW_MS);
    if (now - this.lastPrune > 10_000) {
      this.lastPrune = now;
      for (const [id, until] of this.seenIds) if (until < now) this.seenIds.delete(id);
    }
    return null;
  }

  private drop(reason: string, detail: string): void {
    this.counters.dropped[reason] = (this.counters.dropped[reason] ?? 0) + 1;
    // Rate-limit the log: a flood of bad frames must not flood the log.
    const n = this.counters.dropped[reason];
    if (n <= 5 || n % 1000 === 0) this.log.warn(`dropped message (${reason}, #${n}): ${detail}`);
  }

  private async receiveLoop(): Promise<void> {
    let lastYield = performance.now();
    try {
      for await (const [peer, ...frames] of this.socket) {
        // The socket's iterator resolves from its buffer without returning to the event loop; under a
        // flood that would starve timers, HTTP and the ingest flush. Yield after a few ms of work.
        if (performance.now() - lastYield > YIELD_AFTER_MS) {
          await new Promise((r) => setImmediate(r));
          lastYield = performance.now();
        }
        let message: Message;
        try {
          message = decode(this.key, frames);
        } catch (e) {
          if (e instanceof DecodeError) this.drop(e.reason, e.message);
          else this.drop('internal', (e as Error).message);
          continue;
        }
        if (!RUN_SCOPED_TYPES.includes(message.header.type)) {
          const why = this.replayCheck(message.header.msg_id, message.header.date);
          if (why) {
            this.drop(why, `${message.header.type} ${message.header.msg_id}`);
            continue;
          }
        }
        const invalid = validateContent(message.header.type, message.content);
        if (invalid) {
          this.drop('content', `${message.header.type}: ${invalid}`);
          if (!RUN_SCOPED_TYPES.includes(message.header.type)) continue;
        }
        this.counters.received++;
        try {
          this.handler(peer, message, invalid ?? undefined);
        } catch (e) {
          this.log.error(`handler failed for ${message.header.type}: ${(e as Error).stack ?? e}`);
        }
      }
    } catch (e) {
      if (!this.closed) this.log.error(`receive loop ended: ${(e as Error).message}`);
    }
  }
}
