// Nest logs every module it loads and every route it maps at `log` level: some sixty lines at each
// start that bury the one line a user needs (the dashboard URL). They stay available at debug level.
import { ConsoleLogger, type LogLevel } from '@nestjs/common';

const BOOT_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'WebSocketsController', 'NestFactory', 'NestApplication']);

export class BootQuietLogger extends ConsoleLogger {
  constructor(private readonly levels: LogLevel[]) {
    super({ logLevels: levels });
  }

  override log(message: unknown, ...rest: unknown[]): void {
    const context = rest.length ? rest[rest.length - 1] : this.context;
    if (!this.levels.includes('debug') && typeof context === 'string' && BOOT_CONTEXTS.has(context)) return;
    super.log(message, ...(rest as [string?]));
  }
}
