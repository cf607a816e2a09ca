// socket.io adapter: turns socket events into LiveService calls and validates what clients send.
import { Logger } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../contracts/api.js';
import { CatchUpService } from './catch-up.service.js';
import { LiveService } from './live.service.js';

type ClientSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

const RUN_ID = /^[0-9a-zA-Z-]{1,64}$/;

@WebSocketGateway({ cors: { origin: true } })
export class LiveGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly log = new Logger('LiveGateway');

  constructor(
    private readonly live: LiveService,
    private readonly catchUp: CatchUpService,
  ) {}

  afterInit(server: Server<ClientToServerEvents, ServerToClientEvents>): void {
    this.live.attach({
      toRoom: (room, event, ...args) => (server.to(room).emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
      toAll: (event, ...args) => (server.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
    });
  }

  handleConnection(socket: ClientSocket): void {
    this.live.connect(this.client(socket));
  }

  private client(socket: ClientSocket) {
    return {
      id: socket.id,
      emit: ((event: keyof ServerToClientEvents, ...args: unknown[]) => (socket.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args)) as never,
      join: (room: string) => void socket.join(room),
      leave: (room: string) => void socket.leave(room),
    };
  }

  handleDisconnect(socket: ClientSocket): void {
    this.live.disconnect(socket.id);
  }

  @SubscribeMessage('subscribe')
  async subscribe(@ConnectedSocket() socket: ClientSocket, @MessageBody() body: unknown): Promise<{ ok: boolean; error?: string }> {
    const req = body as { run_id?: unknown; after_seq?: unknown } | null;
    if (!req || typeof req !== 'object' || typeof req.run_id !== 'string' || !RUN_ID.test(req.run_id)) {
      return { ok: false, error: 'subscribe needs { run_id: string, after_seq?: integer >= 0 }' };
    }
    const after = req.after_seq === undefined ? 0 : Number(req.after_seq);
    if (!Number.isSafeInteger(after) || after < 0) return { ok: false, error: 'after_seq must be an integer >= 0' };
    this.live.beginSubscribe(this.client(socket), req.run_id, after);
    try {
      const replay = await this.catchUp.eventsAfter(req.run_id, after);
      if (replay === null) {
        this.live.unsubscribe(socket.id, req.run_id);
        return { ok: false, error: `run ${req.run_id} not found` };
      }
      this.live.finishCatchUp(socket.id, req.run_id, replay);
      return { ok: true };
    } catch (e) {
      this.live.unsubscribe(socket.id, req.run_id);
      this.log.warn(`catch-up for ${req.run_id} failed: ${(e as Error).message}`);
      return { ok: false, error: 'catch-up failed' };
    }
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: ClientSocket, @MessageBody() body: unknown): void {
    const req = body as { run_id?: unknown } | null;
    if (req && typeof req.run_id === 'string') this.live.unsubscribe(socket.id, req.run_id);
  }
}
