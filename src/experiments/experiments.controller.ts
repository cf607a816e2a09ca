import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import type { Request } from 'express';
import { ExperimentsService } from './experiments.service.js';

class IdParam {
  @ApiProperty() @Matches(/^[0-9a-zA-Z-]{1,64}$/, { message: 'id must be an experiment id' }) id: string;
}

class ArchiveBody {
  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean() archived?: boolean;
}

class LaunchBody {
  @ApiPropertyOptional({ default: 'smoke', description: 'full | quick | smoke' }) @IsOptional() @IsString() profile?: string;
  @ApiPropertyOptional({ description: 'name of the experiment created' }) @IsOptional() @IsString() name?: string;
}

/** OpenAPI description of the clone body; the service checks it (errors name body paths). */
export const CLONE_BODY_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'name of the new experiment (default: derived from the source and the changes)' },
    overrides: { type: 'object', description: 'nested partial document merged into the source (objects merge, arrays and scalars replace)' },
    set: { type: 'object', description: 'dotted RunSpec path -> value, applied after overrides', example: { 'optim.lr': 0.0003 } },
  },
  additionalProperties: false,
  example: { set: { 'optim.lr': 0.0003 } },
};

const EXAMPLE = {
  name: 'lr sweep',
  model: { pretrained: false, conv1: { kernel: 5, stride: 1, padding: 2 }, maxpool: true },
  data: { source: 'fashion-mnist', train_subset: 2000, test_subset: 500, pad_to: 36 },
  optim: { name: 'adam', lr: 0.001 },
  train: { epochs: 2, batch_size: 64 },
  grid: { 'optim.lr': [0.001, 0.0003] },
};

@ApiTags('experiments')
@Controller('experiments')
export class ExperimentsController {
  constructor(private readonly experiments: ExperimentsService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an experiment from a document (JSON, or YAML with Content-Type application/yaml); its runs are queued',
    description: 'Partial RunSpec sections (model, data, optim, train, resources) plus sweeps (variants, grid, random). Every error is returned at once with its dotted path.',
  })
  @ApiBody({ schema: { type: 'object', example: EXAMPLE } })
  create(@Req() req: Request) {
    // The body is parsed by the document parser (JSON object or YAML text), not by a DTO pipe, so
    // that errors can name paths inside sweeps and variants.
    const yaml = typeof req.body === 'string';
    return this.experiments.create(req.body, yaml ? 'yaml' : 'json');
  }

  @Get()
  list(@Query('archived') archived?: string) {
    return this.experiments.list(archived === 'true' || archived === '1');
  }

  @Get(':id')
  get(@Param() p: IdParam) {
    return this.experiments.get(p.id);
  }

  @Post(':id/clone')
  @HttpCode(201)
  @ApiOperation({
    summary: "Clone an experiment with overrides (\"run it again with lr 3e-4\"); the new experiment's runs are queued",
    description: 'The stored document with `overrides` merged in and each dotted `set` path applied, validated exactly like POST /api/experiments. A `set` path that a grid, random sweep or variant overrides is refused (400) rather than ignored.',
  })
  @ApiBody({ schema: CLONE_BODY_SCHEMA })
  clone(@Param() p: IdParam, @Body() body: unknown) {
    return this.experiments.cloneExperiment(p.id, body);
  }

  @Post(':id/archive')
  @HttpCode(200)
  archive(@Param() p: IdParam, @Body() body: ArchiveBody) {
    return this.experiments.archive(p.id, body.archived ?? true);
  }
}

@ApiTags('presets')
@Controller('presets')
export class PresetsController {
  constructor(private readonly experiments: ExperimentsService) {}

  @Get()
  @ApiOperation({ summary: 'Built-in experiment presets (the seed study) and their profiles' })
  list() {
    return this.experiments.presets();
  }

  @Post(':name/launch')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create and queue a preset experiment in one call' })
  launch(@Param('name') name: string, @Body() body: LaunchBody) {
    return this.experiments.launchPreset(name, body.profile ?? 'smoke', body.name ? { name: body.name } : {});
  }
}
