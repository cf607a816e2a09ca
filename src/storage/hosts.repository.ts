import { Injectable } from '@nestjs/common';
import { DataSource, LessThan, MoreThanOrEqual } from 'typeorm';
import { DeviceSampleEntity, HostEntity } from './entities.js';

@Injectable()
export class HostsRepository {
  constructor(private readonly ds: DataSource) {}

  async upsert(host: HostEntity): Promise<void> {
    await this.ds.getRepository(HostEntity).save(host);
  }

  async setStatus(id: string, status: 'online' | 'offline', lastSeen: number): Promise<void> {
    await this.ds.getRepository(HostEntity).update({ id }, { status, last_seen: lastSeen });
  }

  all(): Promise<HostEntity[]> {
    return this.ds.getRepository(HostEntity).find({ order: { name: 'ASC' } });
  }

  /** At boot nobody is connected yet: every host is offline until its worker says hello. */
  async markAllOffline(): Promise<void> {
    await this.ds.getRepository(HostEntity).createQueryBuilder().update().set({ status: 'offline' }).execute();
  }

  async insertSamples(rows: Omit<DeviceSampleEntity, 'id'>[]): Promise<void> {
    if (rows.length) await this.ds.getRepository(DeviceSampleEntity).insert(rows);
  }

  samples(hostId: string, since: number): Promise<DeviceSampleEntity[]> {
    return this.ds.getRepository(DeviceSampleEntity).find({ where: { host_id: hostId, at: MoreThanOrEqual(since) }, order: { at: 'ASC' } });
  }

  async pruneSamples(before: number): Promise<void> {
    await this.ds.getRepository(DeviceSampleEntity).delete({ at: LessThan(before) });
  }
}
