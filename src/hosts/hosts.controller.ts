import { Controller, DefaultValuePipe, Get, NotFoundException, Param, ParseIntPipe, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { PythoniaService } from '../bridge/pythonia.service.js';
import { HostsService } from './hosts.service.js';

@ApiTags('hosts')
@Controller()
export class HostsController {
  constructor(
    private readonly hosts: HostsService,
    private readonly python: PythoniaService,
  ) {}

  @Get('hosts')
  @ApiOperation({ summary: 'Connected and known worker hosts with their devices, live stats and occupying runs' })
  list() {
    return this.hosts.views();
  }

  @Get('hosts/:id/history')
  @ApiOperation({ summary: "A host's device stats over time (utilization, memory, temperature per GPU; index -1 = CPU), sampled every 10 s" })
  async history(
    @Param('id') id: string,
    @Query('minutes', new DefaultValuePipe(60), ParseIntPipe) minutes: number,
    @Query('points', new DefaultValuePipe(300), ParseIntPipe) points: number,
  ) {
    const h = await this.hosts.history(id, Math.min(Math.max(minutes, 1), 7 * 24 * 60) * 60_000, Math.min(Math.max(points, 2), 5000));
    if (!h) throw new NotFoundException(`host ${id} not found`);
    return h;
  }

  @Get('env')
  @ApiOperation({ summary: "Python, torch, torchvision and CUDA on the orchestrator's machine (answered by Python through pythonia)" })
  env() {
    return this.python.env();
  }
}
