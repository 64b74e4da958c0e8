// Package secretsmanager is a small, in-memory, AWS Secrets Manager-compatible
// HTTP endpoint for the local stack and for tests.
//
// It speaks the service's own wire protocol (AWS JSON 1.1: POST /, header
// "X-Amz-Target: secretsmanager.<Operation>", a JSON body with the API's
// PascalCase member names, dates as epoch-seconds numbers, errors as a JSON
// body carrying "__type" and "Message"), so the production adapter and the
// real aws-sdk-go-v2 secretsmanager client are what run against it. Point the
// client at it with aws.Config.BaseEndpoint (or secretsmanager.Options
// BaseEndpoint), static credentials and any region; errors surface as the
// SDK's typed errors (*types.ResourceNotFoundException and so on), usable
// with errors.As.
//
// # What is emulated
//
//   - CreateSecret, GetSecretValue, PutSecretValue, UpdateSecret,
//     DescribeSecret, DeleteSecret, RestoreSecret, ListSecrets, TagResource,
//     UntagResource, PutResourcePolicy, GetResourcePolicy and
//     DeleteResourcePolicy, with the request members and response members
//     the real API uses.
//   - Resource policies are stored, returned and kept in DataFile, so tests
//     can read back what a caller put: a ResourcePolicy must be a JSON object
//     with a Statement member (otherwise MalformedPolicyDocumentException) of
//     at most 20480 characters; BlockPublicPolicy is accepted. A secret
//     marked for deletion keeps its policy and can be asked for it, but not
//     given or relieved of one (InvalidRequestException).
//   - Versions and staging labels: a new value becomes AWSCURRENT and the
//     previous current version becomes AWSPREVIOUS, unless VersionStages says
//     otherwise; GetSecretValue reads by VersionId and/or VersionStage.
//     Versions without labels are pruned as the service does (it keeps the
//     100 most recent, plus every version younger than 24 hours); past that,
//     LimitExceededException.
//   - ClientRequestToken idempotency: the token becomes the VersionId; a retry
//     with the same token and the same value succeeds without creating
//     anything, the same token with a different value is refused with
//     ResourceExistsException.
//   - Deletion: ForceDeleteWithoutRecovery removes a secret at once (and, as
//     on AWS, succeeds for a secret that does not exist); a recovery window of
//     7 to 30 days (default 30) marks it deleted: it is then listed only with
//     IncludePlannedDeletion, its value cannot be read or changed, its name
//     cannot be reused, RestoreSecret brings it back, and it is purged once
//     its DeletionDate has passed (per Options.Now).
//   - ListSecrets filters (name, description, tag-key, tag-value, all; each a
//     prefix match, "!" negates; primary-region and owning-service never
//     match because nothing here is replicated or service-owned), SortBy,
//     SortOrder (default: ascending creation date), MaxResults (1-100,
//     default 100) and an opaque NextToken.
//   - SecretId is a name, a full ARN, or a partial ARN (the ARN without the
//     final "-" and six random characters). ARNs look like
//     arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX.
//   - Input bounds with the service's exception types: names 1-512 characters
//     of ASCII letters, digits and /_+=.@- ; SecretString and SecretBinary at
//     most 65536 bytes; ClientRequestToken and VersionId 32-64 characters;
//     descriptions and KMS key ids at most 2048 characters; tags (key 1-128,
//     value 0-256, at most 50 per secret, no "aws:" prefix); request bodies
//     at most MaxRequestBytes (512 KiB, enough for a maximal SecretString
//     even when every byte needs escaping). Parameter problems, these bounds
//     included, are InvalidParameterException; state conflicts (a secret
//     marked for deletion) InvalidRequestException; a name or version that
//     exists ResourceExistsException; the versions quota
//     LimitExceededException (the SDK's standard retryer treats that code as
//     throttling and retries it, which is why it is used for nothing else).
//     Malformed JSON is answered with SerializationException, an unknown or
//     unemulated operation with UnknownOperationException, a request without
//     an Authorization header with MissingAuthenticationTokenException: these
//     three are not modelled, so the SDK returns them as *smithy.GenericAPIError.
//
// # What is not emulated
//
//   - Authentication: the Authorization header must be present (otherwise
//     MissingAuthenticationTokenException) but its SigV4 signature is NOT
//     verified, and no IAM policy is evaluated. Any credentials work.
//   - Encryption: KmsKeyId is stored and reported but nothing is encrypted and
//     no KMS is involved; values are held in memory in plaintext and, when
//     Options.DataFile is set, written to that file in plaintext (mode 0600).
//     Keep such a file outside the repository.
//   - Resource policies are never evaluated (there are no principals), the
//     policy grammar is not checked beyond the above, and BlockPublicPolicy
//     never refuses a policy (no PublicPolicyException).
//   - Rotation, replication, ValidateResourcePolicy, cross-account replicas,
//     managed external secrets (Type), ListSecretVersionIds,
//     UpdateSecretVersionStage, BatchGetSecretValue and GetRandomPassword.
//     Requests that ask for replication are refused rather than ignored.
//   - The service's eventual consistency: every change is visible at once.
//   - Partitions other than "aws" in ARNs.
//
// Where the real service answers a model-level constraint violation with the
// generic ValidationException, this endpoint uses the modelled
// InvalidParameterException, so callers always get a typed error.
package secretsmanager
