import { Controller, Get } from '@nestjs/common';
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

  @Get('env')
  @ApiOperation({ summary: "Python, torch, torchvision and CUDA on the orchestrator's machine (answered by Python through pythonia)" })
  env() {
    return this.python.env();
  }
}
