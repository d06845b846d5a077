#version 330 core
// The first step of depth conditioning: raw inverse depth (any resolution) through the drift
// correction, sampled bilinearly at each output pixel's centre, into a full-resolution R32F
// target. The refinement then reads its 25 taps with texelFetch: one filtered read per pixel
// here instead of 25 there (on a software rasteriser a filtered read costs four).
uniform sampler2D u_depth;      // raw inverse depth, any resolution, LINEAR filtered
uniform vec2 u_affine;          // drift correction: a * d + b
uniform vec2 u_size;            // output size in pixels

out float f_depth;

void main() {
    f_depth = u_affine.x * texture(u_depth, gl_FragCoord.xy / u_size).r + u_affine.y;
}
