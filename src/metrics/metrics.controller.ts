import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString } from 'class-validator';
import { ComparisonService, MAX_COMPARE_RUNS } from './comparison.service.js';

class CompareBody {
  @ApiProperty({ type: [String] }) @IsArray() @ArrayMinSize(1) @ArrayMaxSize(MAX_COMPARE_RUNS) @IsString({ each: true }) run_ids: string[];
  @ApiPropertyOptional({ type: [String], description: 'series keys or eval.<measure> to align by epoch' })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  curve_keys?: string[];
}

@ApiTags('metrics')
@Controller()
export class MetricsController {
  constructor(private readonly comparison: ComparisonService) {}

  @Post('compare')
  @HttpCode(200)
  @ApiOperation({ summary: 'Compare runs: final/best values, cost, aligned curves, where accuracy and F1 disagree, which runs dominate' })
  compare(@Body() body: CompareBody) {
    return this.comparison.compare(body.run_ids, body.curve_keys);
  }
}
