"""GPU side: GL context, shader programs, uploads and the depth-of-field renderer (main thread only)."""
