import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RunsRepository } from '../storage/runs.repository.js';
import { RunPublisher } from './run-publisher.service.js';

@ApiTags('runs')
@Controller('queue')
export class QueueController {
  constructor(
    private readonly repo: RunsRepository,
    private readonly publisher: RunPublisher,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Queued runs in scheduling order, with their position and why each waits' })
  async queue() {
    const queued = await this.repo.findByStatus(['queued']);
    queued.sort((a, b) => b.priority - a.priority || a.queued_at - b.queued_at || a.id.localeCompare(b.id));
    const views = await this.publisher.views(queued);
    return views.map((v, i) => ({ position: i + 1, run: v, reason: v.reason }));
  }
}
