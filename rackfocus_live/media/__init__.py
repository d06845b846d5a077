"""Media input and output through PyAV: probing, decoding, still images, encoding."""
