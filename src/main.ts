// Boot: HTTP (REST + OpenAPI + dashboard) and socket.io on one port, the ZeroMQ broker, the local
// worker. `--study NAME --profile P --exit-when-done` also launches a preset and prints its results.
import 'reflect-metadata';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppModule } from './app/app.module.js';
import { BootQuietLogger } from './app/boot-logger.js';
import { AppConfig, ConfigError, loadConfig, REPO_ROOT } from './config/app-config.js';
import { DomainErrorsFilter } from './http/domain-errors.filter.js';
import { validationPipe } from './http/validation.pipe.js';
import { runStudy } from './cli/study.js';

const LEVELS: Record<AppConfig['logLevel'], LogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  log: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
};

export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: new BootQuietLogger(LEVELS[config.logLevel]),
    bodyParser: true,
  });
  app.useBodyParser('json', { limit: '1mb' });
  app.useBodyParser('text', { type: ['application/yaml', 'application/x-yaml', 'text/yaml'], limit: '1mb' });
  app.setGlobalPrefix('api');
  app.useGlobalPipes(validationPipe());
  app.useGlobalFilters(new DomainErrorsFilter());
  app.enableShutdownHooks();
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Trainyard')
      .setDescription('Experiments, runs, the queue, hosts and metrics of Trainyard. Live updates: socket.io on the same port.')
      .setVersion('0.1.0')
      .build(),
  );
  SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/docs-json' });
  const dashboard = join(REPO_ROOT, 'apps', 'dashboard', 'dist');
  if (existsSync(dashboard)) app.useStaticAssets(dashboard, { index: 'index.html' });
  return app;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      study: { type: 'string' },
      profile: { type: 'string', default: 'smoke' },
      'exit-when-done': { type: 'boolean', default: false },
      'no-worker': { type: 'boolean', default: false },
      port: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(`usage: npm start -- [--study seed|NAME] [--profile full|quick|smoke] [--exit-when-done] [--no-worker] [--port N]`);
    return;
  }
  let config: AppConfig;
  try {
    config = loadConfig(process.env, {
      ...(values.port ? { port: Number(values.port) } : {}),
      ...(values['no-worker'] ? { localWorker: false } : {}),
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  const url = `http://${config.host}:${config.port}/`;
  new Logger('Trainyard').log(`dashboard: ${url}  REST: ${url}api  OpenAPI: ${url}api/docs  ZeroMQ: ${config.zmqBind}`);
  console.log(`Trainyard dashboard: ${url}`);
  if (values.study) {
    const code = await runStudy(app, { study: values.study, profile: values.profile ?? 'smoke', exitWhenDone: values['exit-when-done'] ?? false });
    if (values['exit-when-done']) {
      await app.close();
      process.exit(code);
    }
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
