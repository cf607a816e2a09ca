import { Initial1764806400000 } from './1764806400000-initial.js';
import { DeviceSamples1764892800000 } from './1764892800000-device-samples.js';

export const MIGRATIONS = [Initial1764806400000, DeviceSamples1764892800000];
