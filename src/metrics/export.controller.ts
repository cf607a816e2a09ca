// CSV and JSON downloads: a runs table (one row per run, like a tracker's run export) and a run's
// full metric history. Streamed in chunks so a long history is never built in memory.
import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import type { Response } from 'express';
import { RunsService } from '../runs/runs.service.js';
import { MetricsRepository } from '../storage/metrics.repository.js';
import { chunkText, contentDisposition, exportFilename, historyCsvLines, historyJsonChunks, runsCsvLines, runsJsonChunks } from './export.js';

class FormatParam {
  @ApiProperty({ enum: ['csv', 'json'] }) @IsIn(['csv', 'json']) format: 'csv' | 'json';
}

class RunFormatParam extends FormatParam {
  @ApiProperty() @Matches(/^[0-9a-zA-Z-]{1,64}$/, { message: 'id must be a run id' }) id: string;
}

class RunsExportQuery {
  @ApiPropertyOptional() @IsOptional() @IsString() experiment_id?: string;
  @ApiPropertyOptional({ description: 'comma-separated run ids' }) @IsOptional() @IsString() ids?: string;
}

const TYPES = { csv: 'text/csv; charset=utf-8', json: 'application/json; charset=utf-8' };

@ApiTags('export')
@Controller('export')
export class ExportController {
  constructor(
    private readonly runs: RunsService,
    private readonly metrics: MetricsRepository,
  ) {}

  @Get('runs.:format')
  @ApiOperation({ summary: 'Runs table as CSV or JSON (spec flattened into columns, latest values as summary columns)' })
  async runsTable(@Param() p: FormatParam, @Query() q: RunsExportQuery, @Res() res: Response): Promise<void> {
    const ids = q.ids?.split(',').filter(Boolean);
    const views = ids?.length
      ? await Promise.all(ids.map((id) => this.runs.get(id)))
      : (await this.runs.list({ experiment_id: q.experiment_id, limit: 100_000, offset: 0, sort: 'created_at' })).items;
    const label = q.experiment_id && views[0] ? views[0].experiment_name : undefined;
    this.send(res, p.format, exportFilename({ kind: 'runs', label, format: p.format, date: new Date() }), p.format === 'csv' ? runsCsvLines(views) : runsJsonChunks(views));
  }

  @Get('runs/:id/history.:format')
  @ApiOperation({ summary: "A run's full-resolution metric history (every point) as CSV or JSON" })
  async history(@Param() p: RunFormatParam, @Res() res: Response): Promise<void> {
    const run = await this.runs.get(p.id);
    const points = await this.metrics.points(p.id);
    const rows = points.map((x) => ({ run_id: p.id, key: x.key, step: x.step, epoch: x.epoch, value: x.value, wall_time: x.wall_time }));
    this.send(res, p.format, exportFilename({ kind: 'history', label: run.name, format: p.format, date: new Date() }), p.format === 'csv' ? historyCsvLines(rows) : historyJsonChunks(rows));
  }

  private send(res: Response, format: 'csv' | 'json', filename: string, pieces: Iterable<string>): void {
    res.status(200);
    res.setHeader('Content-Type', TYPES[format]);
    res.setHeader('Content-Disposition', contentDisposition(filename));
    for (const chunk of chunkText(pieces)) res.write(chunk);
    res.end();
  }
}
