"""Code generation for fused kernels."""
