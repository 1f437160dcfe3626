import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** S3 actions the CI runner needs for the artifact bucket, and nothing more. */
export const OBJECT_ACTIONS = [
  "s3:GetObject",
  "s3:PutObject",
  "s3:DeleteObject",
  "s3:GetObjectVersion",
  "s3:DeleteObjectVersion",
  "s3:AbortMultipartUpload",
  "s3:ListMultipartUploadParts",
] as const;
export const BUCKET_ACTIONS = [
  "s3:ListBucket",
  "s3:ListBucketVersions",
  "s3:ListBucketMultipartUploads",
  "s3:GetBucketLocation",
  "s3:GetBucketVersioning",
] as const;

/** The least-privilege policy document for one bucket. */
export function ciPolicyDocument(bucket: string): aws.iam.PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ArtifactBucket",
        Effect: "Allow",
        Action: [...BUCKET_ACTIONS],
        Resource: [`arn:aws:s3:::${bucket}`],
      },
      {
        Sid: "ArtifactObjects",
        Effect: "Allow",
        Action: [...OBJECT_ACTIONS],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
    ],
  };
}

export interface CiAccessArgs {
  readonly bucket: pulumi.Input<string>;
}

/**
 * AWS-only extra (s3.aws = true): an IAM user for the CI runner with a policy scoped to the artifact bucket.
 * Its access key is not created here: issue it with `aws iam create-access-key` and store it as CI secrets, so no
 * long-lived key ever sits in Pulumi state.
 */
export class CiAccess extends pulumi.ComponentResource {
  readonly user: aws.iam.User;
  readonly policy: aws.iam.Policy;
  readonly attachment: aws.iam.UserPolicyAttachment;

  constructor(name: string, args: CiAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("xcpng:aws:CiAccess", name, {}, opts);
    this.user = new aws.iam.User(
      `${name}-runner`,
      { path: "/xcpng-templates/", tags: { purpose: "xcpng-templates CI" } },
      { parent: this },
    );
    this.policy = new aws.iam.Policy(
      `${name}-artifacts`,
      {
        path: "/xcpng-templates/",
        description: "Read and write XVA artifacts of the xcpng-templates catalogue, one bucket only",
        policy: pulumi.output(args.bucket).apply((b) => JSON.stringify(ciPolicyDocument(b))),
      },
      { parent: this },
    );
    this.attachment = new aws.iam.UserPolicyAttachment(
      `${name}-attach`,
      { user: this.user.name, policyArn: this.policy.arn },
      { parent: this },
    );
    this.registerOutputs({ userName: this.user.name, policyArn: this.policy.arn });
  }
}
