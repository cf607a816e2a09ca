// Orchestrator -> worker commands, addressed by host id. Thin: resolves the peer and sends.
import { Injectable } from '@nestjs/common';
import type { AssignContent } from '../contracts/wire.js';
import { HostsService } from '../hosts/hosts.service.js';
import { ZmqBroker } from './zmq-broker.adapter.js';

@Injectable()
export class WorkerCommands {
  constructor(
    private readonly broker: ZmqBroker,
    private readonly hosts: HostsService,
  ) {}

  /** False when the host is not connected. */
  assign(hostId: string, content: AssignContent): boolean {
    const peer = this.hosts.peerOf(hostId);
    if (!peer) return false;
    this.broker.send(peer, 'assign', content);
    return true;
  }

  cancel(hostId: string, runId: string, reason: string): boolean {
    const peer = this.hosts.peerOf(hostId);
    if (!peer) return false;
    this.broker.send(peer, 'cancel', { run_id: runId, reason });
    return true;
  }

  ack(peer: Buffer, runId: string, seq: number): void {
    this.broker.send(peer, 'ack', { run_id: runId, seq });
  }
}
