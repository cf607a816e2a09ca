// One ValidationPipe for every DTO: unknown fields refused, every error listed with its dotted path.
import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';

export function flattenErrors(errors: ValidationError[], prefix = ''): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  for (const e of errors) {
    const path = prefix ? (/^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : `${prefix}.${e.property}`) : e.property;
    for (const m of Object.values(e.constraints ?? {})) out.push({ path, message: m });
    if (e.children?.length) out.push(...flattenErrors(e.children, path));
  }
  return out;
}

export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => {
      const list = flattenErrors(errors);
      return new BadRequestException({ statusCode: 400, message: list.map((e) => `${e.path}: ${e.message}`).join('; '), errors: list });
    },
  });
}
