import { Initial1764806400000 } from './1764806400000-initial.js';

export const MIGRATIONS = [Initial1764806400000];
