// Stacks last updated before the bucket provider moved to artifact-bucket.ts carry this module path in the
// provider code stored in their state, which `refresh` and `destroy` run (see dynamic/shim.ts). Their next `up`
// stores the new path; until then this alias keeps those commands working.
export { ArtifactBucketProvider as BucketProvider } from "./artifact-bucket";
