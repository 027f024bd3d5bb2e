/** The versioned fake S3 lives with the subject-request drill, which uses it too. */
export { FakeS3 } from '../../lib/dsr/drill/fake-s3';
