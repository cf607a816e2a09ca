// Built-in experiment documents. `seed-study` is the notebook's study (seed/resnet18-notebook.md):
// its ten runs, Adam 1e-3, batch 64, 10 epochs, its augmentation and normalization. CIFAR-10 cannot be
// downloaded here, so the data is Fashion-MNIST padded to the notebook's 36x36 and replicated to 3
// channels; set data.source to cifar10 and data.path to a CIFAR-10 folder to run it on the original.
import { NOTEBOOK_AUGMENT, NOTEBOOK_NORMALIZE } from '../contracts/spec.js';
import { deepClone, deepMerge } from './deep-merge.js';
import { PresetError } from './preset-error.js';
import type { ExperimentDocument, RunSpecOverrides, VariantDef } from './types.js';

export type PresetProfile = 'full' | 'quick' | 'smoke';

export interface ProfileInfo {
  name: PresetProfile;
  description: string;
  train_subset: number | null;
  test_subset: number | null;
  epochs: number;
}

export interface PresetInfo {
  name: string;
  description: string;
  runs: number;
  run_names: string[];
  profiles: ProfileInfo[];
  default_profile: PresetProfile;
}

const PROFILES: ProfileInfo[] = [
  { name: 'full', description: 'whole data set, 10 epochs (the notebook)', train_subset: null, test_subset: null, epochs: 10 },
  { name: 'quick', description: '5000 training / 1000 test images, 3 epochs', train_subset: 5000, test_subset: 1000, epochs: 3 },
  { name: 'smoke', description: '256 training / 256 test images, 1 epoch', train_subset: 256, test_subset: 256, epochs: 1 },
];

const PRETRAINED = { pretrained: true } as const;
const CONV1_7X7_S1 = { conv1: { kernel: 7, stride: 1, padding: 3 } };
const CONV1_5X5_S1 = { conv1: { kernel: 5, stride: 1, padding: 2 } };
const NO_MAXPOOL = { maxpool: false };

// The notebook's runs, in its order.
const SEED_VARIANTS: VariantDef[] = [
  { name: 'scratch', overrides: {} },
  { name: 'pretrained', overrides: { model: { ...PRETRAINED } } },
  { name: 'scratch_224', overrides: { data: { resize: 224 } } },
  { name: 'pretrained_224', overrides: { model: { ...PRETRAINED }, data: { resize: 224 } } },
  { name: 'modified_scratch_1', overrides: { model: { ...CONV1_7X7_S1 } } },
  { name: 'modified_scratch_2', overrides: { model: { ...CONV1_5X5_S1 } } },
  { name: 'modified_scratch_3', overrides: { model: { ...NO_MAXPOOL } } },
  { name: 'modified_pretrained_1', overrides: { model: { ...PRETRAINED, ...CONV1_7X7_S1 } } },
  { name: 'modified_pretrained_2', overrides: { model: { ...PRETRAINED, ...CONV1_5X5_S1 } } },
  { name: 'modified_pretrained_3', overrides: { model: { ...PRETRAINED, ...NO_MAXPOOL } } },
];

function seedStudy(profile: ProfileInfo): ExperimentDocument {
  return {
    name: `seed-study (${profile.name})`,
    description:
      'The ResNet18 notebook study: scratch vs ImageNet-pretrained, 36x36 vs resized to 224, conv1 7x7/5x5 stride 1, ' +
      `maxpool removed. Profile ${profile.name}: ${profile.description}.`,
    tags: ['seed-study', 'resnet18', profile.name],
    model: { arch: 'resnet18', pretrained: false, conv1: null, maxpool: true, num_classes: 10 },
    data: {
      source: 'fashion-mnist',
      path: null,
      train_subset: profile.train_subset,
      test_subset: profile.test_subset,
      pad_to: 36,
      resize: null,
      channels: 3,
      normalize: deepClone(NOTEBOOK_NORMALIZE),
      augment: deepClone(NOTEBOOK_AUGMENT),
    },
    optim: { name: 'adam', lr: 1e-3, weight_decay: 0, schedule: { name: 'none' } },
    train: { epochs: profile.epochs, batch_size: 64 },
    variants: deepClone(SEED_VARIANTS),
  };
}

const PRESETS: Record<string, { description: string; build: (p: ProfileInfo) => ExperimentDocument; defaultProfile: PresetProfile }> = {
  'seed-study': {
    description: "The notebook's ten ResNet18 runs (seed/resnet18-notebook.md) on Fashion-MNIST padded to 36x36.",
    build: seedStudy,
    defaultProfile: 'full',
  },
};

export function listPresets(): PresetInfo[] {
  return Object.entries(PRESETS).map(([name, p]) => {
    const doc = p.build(PROFILES[0]);
    return {
      name,
      description: p.description,
      runs: doc.variants?.length ?? 1,
      run_names: (doc.variants ?? []).map((v) => v.name),
      profiles: deepClone(PROFILES),
      default_profile: p.defaultProfile,
    };
  });
}

/**
 * The preset as an experiment document, ready for parseExperimentDocument. `overrides` are merged into
 * its base sections (e.g. { resources: { gpus: 1 } } to run it on GPU hosts instead of CPU slots).
 * Throws PresetError naming the valid choices for an unknown preset or profile.
 */
export function presetDocument(name: string, profile?: string, overrides: RunSpecOverrides = {}): ExperimentDocument {
  const preset = Object.prototype.hasOwnProperty.call(PRESETS, name) ? PRESETS[name] : undefined;
  if (!preset) throw new PresetError(`unknown preset "${name}"; choose one of: ${Object.keys(PRESETS).join(', ')}`, Object.keys(PRESETS));
  const wanted = profile ?? preset.defaultProfile;
  const info = PROFILES.find((p) => p.name === wanted);
  if (!info) {
    const choices = PROFILES.map((p) => p.name);
    throw new PresetError(`unknown profile "${wanted}" for preset "${name}"; choose one of: ${choices.join(', ')}`, choices);
  }
  return deepMerge(preset.build(info), overrides);
}
