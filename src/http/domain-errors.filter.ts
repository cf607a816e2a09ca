// Maps domain errors thrown by services to HTTP answers, so services never import HTTP types.
import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { ExperimentNotFoundError, ExperimentValidationError } from '../experiments/experiments.service.js';
import { PresetError } from '../experiments/preset-error.js';
import { PythonBridgeError, PythonBridgeTimeout } from '../bridge/pythonia.service.js';
import { RunConflictError, RunNotFoundError } from '../runs/runs.service.js';
import { MetricsQueryError } from '../metrics/metrics-query.service.js';

@Catch()
export class DomainErrorsFilter implements ExceptionFilter {
  private readonly log = new Logger('HTTP');

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (err instanceof HttpException) {
      const body = err.getResponse();
      res.status(err.getStatus()).json(typeof body === 'string' ? { statusCode: err.getStatus(), message: body } : body);
      return;
    }
    const send = (status: number, message: string, extra: Record<string, unknown> = {}): void => {
      res.status(status).json({ statusCode: status, message, ...extra });
    };
    if (err instanceof ExperimentValidationError) return send(400, err.message, { errors: err.errors });
    if (err instanceof MetricsQueryError) return send(400, err.message, { errors: err.issues });
    if (err instanceof PresetError) return send(404, err.message);
    if (err instanceof RunNotFoundError || err instanceof ExperimentNotFoundError) return send(404, err.message);
    if (err instanceof RunConflictError) return send(409, err.message);
    if (err instanceof PythonBridgeTimeout) return send(504, err.message);
    if (err instanceof PythonBridgeError) return send(502, err.message);
    this.log.error((err as Error)?.stack ?? String(err));
    send(500, 'internal error');
  }
}
