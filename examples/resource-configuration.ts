// Resource configuration. Run it twice: adding the identical resource again is a no-op.
import { getResourceManager, Resource, ResourceLimits, ResourceType } from '../src/index.js';

// Get resource manager
const resourceManager = getResourceManager();

// Add custom resource
const customResource = new Resource({
  id: 'gpu_1',
  name: 'GPU Resource',
  type: ResourceType.GPU,
  capacity: { units: 1 },
  limits: new ResourceLimits({ maxConcurrentUsers: 1 }),
});

const usage = await resourceManager.addResource(customResource);
console.log(`Resource ${usage.id}: ${usage.capacity} ${usage.unit}, ${usage.allocated} allocated`);
