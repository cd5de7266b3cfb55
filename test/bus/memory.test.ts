import { InMemoryBus } from '../../src/index.js';
import { busConformance } from './conformance.js';

busConformance('InMemoryBus', () => new InMemoryBus());
