// The seed's ResourceManager example.
import { getResourceManager } from '../src/index.js';

// Get resource manager
const resourceManager = getResourceManager();

// Allocate resources
const requirements = { cpu: { cores: 2 }, memory: { gb: 4 } };
const allocated = await resourceManager.allocateResources('user123', requirements);
console.log(`Allocated to ${allocated.holderId}: ${JSON.stringify(allocated.amounts ?? allocated)}`);

// Use resources...
// Deallocate when done
const released = await resourceManager.deallocateResources('user123');
console.log(released.message);
