import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { PythoniaService } from '../bridge/pythonia.service.js';
import { ExperimentValidationError } from '../experiments/experiments.service.js';
import { parseExperimentDocument } from '../experiments/parse-document.js';

@ApiTags('datasets')
@Controller('datasets')
export class DatasetsController {
  constructor(private readonly python: PythoniaService) {}

  @Post('describe')
  @HttpCode(200)
  @ApiOperation({
    summary: 'What a data source holds, read by Python on this machine: sizes, shape, classes, fingerprint, or why it cannot be read',
  })
  @ApiBody({ schema: { type: 'object', example: { source: 'fashion-mnist', train_subset: 1000 } } })
  async describe(@Req() req: Request) {
    // Validated and defaulted exactly like an experiment's `data` section, so paths in errors match.
    const parsed = parseExperimentDocument({ name: 'describe', data: req.body });
    if (!parsed.ok) throw new ExperimentValidationError(parsed.errors);
    return this.python.describeDataset(parsed.runs[0].spec.data);
  }
}
