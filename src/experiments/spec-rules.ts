// Checks that need the whole resolved spec (one field against another, or the architecture). Each
// issue lists the spec paths that could be blamed; the parser points at whichever of them the
// document set most specifically (a swept value, then a variant override, then the base).
import type { RunSpec } from '../contracts/spec.js';
import { checkArchitecture, sourceFacts, type LayerName } from './architecture.js';
import { canonicalJson } from './canonical-json.js';
import { RUN_SPEC_SECTIONS, RunSpecOverridesDto } from './spec.dto.js';
import type { FieldError } from './types.js';
import { validateAs } from './validation-errors.js';

export interface SpecIssue {
  /** Candidate spec paths, most natural first. */
  paths: string[];
  message: string;
}

const INPUT_PATHS = ['data.resize', 'data.pad_to', 'data.synthetic.image_size', 'data.source'];
const ARCH_BLAME: Record<LayerName | 'input', string[]> = {
  input: INPUT_PATHS,
  conv1: ['model.conv1', ...INPUT_PATHS],
  maxpool: ['model.maxpool', ...INPUT_PATHS, 'model.conv1'],
  layer1: [...INPUT_PATHS, 'model.conv1', 'model.maxpool'],
  layer2: [...INPUT_PATHS, 'model.conv1', 'model.maxpool'],
  layer3: [...INPUT_PATHS, 'model.conv1', 'model.maxpool'],
  layer4: [...INPUT_PATHS, 'model.conv1', 'model.maxpool'],
  avgpool: [...INPUT_PATHS],
};

const PATH_REQUIRED = new Set(['tensor-files', 'image-folder', 'cifar10']);

// Runs of one sweep share most sections (a grid over lr leaves model and data alike), so each distinct
// section is validated once; this keeps a 5,000-run expansion fast.
const sectionCache = new Map<string, FieldError[]>();
const SECTION_CACHE_LIMIT = 5000;

/** Every field of the merged result again, section by section. */
export function validateResolvedFields(spec: RunSpec): FieldError[] {
  const errors: FieldError[] = [];
  for (const section of RUN_SPEC_SECTIONS) {
    const value = (spec as unknown as Record<string, unknown>)[section];
    const key = `${section}\u0000${canonicalJson(value)}`;
    let found = sectionCache.get(key);
    if (!found) {
      found = validateAs(RunSpecOverridesDto, { [section]: value });
      if (sectionCache.size >= SECTION_CACHE_LIMIT) sectionCache.clear();
      sectionCache.set(key, found);
    }
    errors.push(...found);
  }
  return errors;
}

export function checkResolvedSpec(spec: RunSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  for (const e of validateResolvedFields(spec)) issues.push({ paths: [e.path], message: e.message });
  if (issues.length) return issues;

  const { data, model, optim } = spec;
  if (data.normalize) {
    for (const key of ['mean', 'std'] as const) {
      const values = data.normalize[key];
      if (values === undefined) {
        issues.push({ paths: [`data.normalize.${key}`, 'data.normalize'], message: `data.normalize.${key} is required when data.normalize is set (there was no base value to merge with)` });
      } else if (values.length !== data.channels) {
        issues.push({
          paths: [`data.normalize.${key}`, 'data.channels'],
          message: `data.normalize.${key} has ${values.length} values but data.channels is ${data.channels}; give one per channel`,
        });
      }
    }
  }
  if (PATH_REQUIRED.has(data.source) && !data.path) {
    issues.push({ paths: ['data.path', 'data.source'], message: `data.path is required for data.source ${data.source}` });
  }
  const facts = sourceFacts(spec);
  if (facts) {
    if (data.pad_to !== null && data.pad_to < facts.image_size) {
      issues.push({
        paths: ['data.pad_to', 'data.source'],
        message: `data.pad_to ${data.pad_to} is smaller than ${data.source}'s ${facts.image_size}x${facts.image_size} images; padding cannot shrink (use data.resize)`,
      });
    }
    if (model.num_classes < facts.classes) {
      issues.push({ paths: ['model.num_classes', 'data.source'], message: `model.num_classes ${model.num_classes} is fewer than the ${facts.classes} classes of ${data.source}` });
    }
    if (data.train_subset !== null && data.train_subset > facts.train_size) {
      issues.push({ paths: ['data.train_subset'], message: `data.train_subset ${data.train_subset} exceeds the ${facts.train_size} training images of ${data.source}` });
    }
    if (data.test_subset !== null && data.test_subset > facts.test_size) {
      issues.push({ paths: ['data.test_subset'], message: `data.test_subset ${data.test_subset} exceeds the ${facts.test_size} test images of ${data.source}` });
    }
  }
  if (optim.schedule.name === 'step' && optim.schedule.step_size === undefined) {
    issues.push({ paths: ['optim.schedule.step_size', 'optim.schedule'], message: 'optim.schedule.step_size is required when optim.schedule.name is step' });
  }
  const arch = checkArchitecture(spec);
  if (!arch.ok && arch.failed_layer) issues.push({ paths: ARCH_BLAME[arch.failed_layer], message: arch.error ?? 'architecture check failed' });
  return issues;
}
