import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, Matches, Min, ValidateNested } from 'class-validator';
import { BEST_EPOCH_METRICS, type BestEpochMetric } from './confusion.js';
import { ComparisonService, MAX_COMPARE_RUNS } from './comparison.service.js';

class CompareBody {
  @ApiProperty({ type: [String] }) @IsArray() @ArrayMinSize(1) @ArrayMaxSize(MAX_COMPARE_RUNS) @IsString({ each: true }) run_ids: string[];
  @ApiPropertyOptional({ type: [String], description: 'series keys or eval.<measure> to align by epoch' })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  curve_keys?: string[];
}

class EvaluationRef {
  @ApiProperty() @IsString() run_id: string;
  @ApiPropertyOptional({ description: 'epoch (default: the last evaluated)' }) @IsOptional() @IsInt() @Min(0) epoch?: number;
}

class ConfusionDiffBody {
  @ApiProperty({ type: EvaluationRef }) @ValidateNested() @Type(() => EvaluationRef) a: EvaluationRef;
  @ApiProperty({ type: EvaluationRef }) @ValidateNested() @Type(() => EvaluationRef) b: EvaluationRef;
}

class BestEpochQuery {
  @ApiPropertyOptional({ enum: BEST_EPOCH_METRICS, default: 'macro_f1' }) @IsOptional() @IsIn(BEST_EPOCH_METRICS) metric?: BestEpochMetric;
}

class RunIdParam {
  @ApiProperty() @Matches(/^[0-9a-zA-Z-]{1,64}$/, { message: 'id must be a run id' }) id: string;
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

  @Post('compare/confusion')
  @HttpCode(200)
  @ApiOperation({ summary: "Difference of two runs' confusion matrices (same classes): counts, row-normalised rates, recall per class" })
  confusion(@Body() body: ConfusionDiffBody) {
    return this.comparison.confusionDiff(body.a, body.b);
  }

  @Get('runs/:id/best-epoch')
  @ApiOperation({ summary: 'The epoch with the best value of a measure (ties: the earliest)' })
  best(@Param() p: RunIdParam, @Query() q: BestEpochQuery) {
    return this.comparison.bestEpoch(p.id, q.metric ?? 'macro_f1');
  }
}
