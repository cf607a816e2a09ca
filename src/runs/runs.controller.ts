import { Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query, DefaultValuePipe } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, Min, Matches } from 'class-validator';
import type { RunStatus } from '../contracts/api.js';
import { MetricsQueryService } from '../metrics/metrics-query.service.js';
import { DOWNSAMPLE_METHODS, type DownsampleMethod } from '../metrics/downsample.js';
import { CLONE_BODY_SCHEMA } from '../experiments/experiments.controller.js';
import { ExperimentsService } from '../experiments/experiments.service.js';
import { RunsRepository } from '../storage/runs.repository.js';
import { RunsService } from './runs.service.js';

const STATUSES: RunStatus[] = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled', 'lost', 'skipped'];
const SORTS = ['created_at', '-created_at', 'name', '-name', 'status', 'priority', '-priority'] as const;

class ListRunsQuery {
  @ApiPropertyOptional({ description: 'comma-separated statuses', example: 'running,queued' })
  @IsOptional()
  @Matches(new RegExp(`^(${STATUSES.join('|')})(,(${STATUSES.join('|')}))*$`), { message: `status must be a comma-separated list of ${STATUSES.join(', ')}` })
  status?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() experiment_id?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() host_id?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() tag?: string;
  @ApiPropertyOptional({ default: 100 }) @IsOptional() @Transform(({ value }) => Number(value)) @IsInt() @Min(1) @Max(1000) limit = 100;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @Transform(({ value }) => Number(value)) @IsInt() @Min(0) offset = 0;
  @ApiPropertyOptional({ enum: SORTS, default: '-created_at' }) @IsOptional() @IsIn(SORTS) sort: (typeof SORTS)[number] = '-created_at';
}

class MetricsQuery {
  @ApiPropertyOptional({ description: 'downsample each series to at most this many points (omit for full resolution)' })
  @IsOptional()
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(2)
  @Max(100000)
  points?: number;
  @ApiPropertyOptional({ enum: DOWNSAMPLE_METHODS }) @IsOptional() @IsIn(DOWNSAMPLE_METHODS) method?: DownsampleMethod;
  @ApiPropertyOptional({ description: 'comma-separated metric keys' }) @IsOptional() @IsString() keys?: string;
}

class RunIdParam {
  @ApiProperty() @Matches(/^[0-9a-zA-Z-]{1,64}$/, { message: 'id must be a run id' }) id: string;
}

@ApiTags('runs')
@Controller('runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly metrics: MetricsQueryService,
    private readonly repo: RunsRepository,
    private readonly experiments: ExperimentsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List runs with filters, sorting and pagination' })
  list(@Query() q: ListRunsQuery) {
    return this.runs.list({
      status: q.status ? (q.status.split(',') as RunStatus[]) : undefined,
      experiment_id: q.experiment_id,
      host_id: q.host_id,
      tag: q.tag,
      limit: q.limit,
      offset: q.offset,
      sort: q.sort,
    });
  }

  @Get(':id')
  @ApiOkResponse({ description: 'RunView' })
  get(@Param() p: RunIdParam) {
    return this.runs.get(p.id);
  }

  @Get(':id/metrics')
  @ApiOperation({ summary: 'Metric series of a run, downsampled on the server when `points` is given' })
  series(@Param() p: RunIdParam, @Query() q: MetricsQuery) {
    return this.metrics.series(p.id, q.points ?? null, q.method, q.keys?.split(',').filter(Boolean));
  }

  @Get(':id/evaluations')
  @ApiOperation({ summary: 'Confusion matrix and classification measures of every evaluation' })
  evaluations(@Param() p: RunIdParam) {
    return this.metrics.evaluations(p.id);
  }

  @Get(':id/evaluations/:epoch/misclassified')
  misclassified(@Param() p: RunIdParam, @Param('epoch', ParseIntPipe) epoch: number) {
    return this.metrics.misclassified(p.id, epoch);
  }

  @Get(':id/logs')
  logs(@Param() p: RunIdParam, @Query('after_seq', new DefaultValuePipe(0), ParseIntPipe) afterSeq: number, @Query('limit', new DefaultValuePipe(500), ParseIntPipe) limit: number) {
    return this.metrics.logs(p.id, afterSeq, Math.min(Math.max(limit, 1), 5000));
  }

  @Get(':id/checkpoints')
  checkpoints(@Param() p: RunIdParam) {
    return this.metrics.checkpoints(p.id);
  }

  @Get(':id/transitions')
  @ApiOperation({ summary: 'Every status change of the run with time and reason' })
  async transitions(@Param() p: RunIdParam) {
    await this.runs.require(p.id);
    return (await this.repo.transitions(p.id)).map((t) => ({ from: t.from_status, to: t.to_status, reason: t.reason, at: new Date(t.at).toISOString() }));
  }

  @Get(':id/layers')
  @ApiOperation({ summary: "The run's model layer by layer (shapes, parameters, multiply-adds), computed by Python" })
  layers(@Param() p: RunIdParam) {
    return this.metrics.layers(p.id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a run: queued runs end at once, running ones stop at the next step with a final checkpoint' })
  cancel(@Param() p: RunIdParam) {
    return this.runs.cancel(p.id);
  }

  @Post(':id/clone')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Run it again with changes: a new one-run experiment from this run\'s resolved spec with overrides / dotted set paths applied',
    description: 'Validated exactly like POST /api/experiments (400 with every error path). The new run keeps the source run\'s name plus the changes, e.g. "scratch lr=0.0003".',
  })
  @ApiBody({ schema: CLONE_BODY_SCHEMA })
  clone(@Param() p: RunIdParam, @Body() body: unknown) {
    return this.experiments.cloneRun(p.id, body);
  }

  @Post(':id/requeue')
  @HttpCode(200)
  requeue(@Param() p: RunIdParam) {
    return this.runs.requeue(p.id);
  }
}
