"""Image pipeline: uploads, variants in the public bucket, private originals."""
