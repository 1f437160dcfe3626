/**
 * Test support: checks a document against the CycloneDX 1.6 JSON schema with the validator the CycloneDX library
 * ships (strict: no property the schema does not define). Needs the library's optional peers `ajv`, `ajv-formats`
 * and `ajv-formats-draft2019` (devDependencies): product code never calls it.
 */
import { Spec, Validation } from "@cyclonedx/cyclonedx-library";

/** The schema errors of `json`, or null when it is a valid CycloneDX 1.6 document. */
export async function cycloneDx16Errors(json: string): Promise<unknown> {
  return new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(json);
}
