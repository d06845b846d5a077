"""GPU side: GL context, shader programs, uploads, the DOF renderer (main thread only)."""
