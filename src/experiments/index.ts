// Public surface of the experiment language (pure: no NestJS, no I/O).
export { parseExperimentDocument, type DocumentFormat } from './parse-document.js';
export { expandExperiment, resolveSpec, runCount, drawSamples } from './sweeps.js';
export { checkArchitecture, inputSize, type ArchitectureReport, type LayerName, type Shape } from './architecture.js';
export { canonicalJson, specHash } from './canonical-json.js';
export { listPresets, presetDocument, type PresetInfo, type PresetProfile, type ProfileInfo } from './presets.js';
export { PresetError } from './preset-error.js';
export { SPEC_FIELDS, SPEC_PATHS } from './spec-paths.js';
export { DEFAULT_RUN_LIMIT, MAX_RUN_LIMIT, MAX_DOCUMENT_BYTES } from './document.dto.js';
export type { ExperimentDocument, ExpandedRun, FieldError, ParseResult, RandomParam, RandomSweep, RunSpecOverrides, VariantDef } from './types.js';
