#version 330 core
// Depth conditioning, tile classification (first half): the range (min, max) of the
// (drift-corrected) inverse depth over blocks of the output, reduced in two draws of this program so both stay
// parallel (one STEP x STEP reduction each: 8 from the depth, then TILE / 8 from those
// ranges). depth_tiles.vert widens it to the neighbouring blocks and sends each block to the
// refinement program that it needs.
#ifndef STEP
#define STEP 8
#endif
// 0: the input is inverse depth (r); 1: it is a range texture of the first draw (rg).
#ifndef FROM_RANGES
#define FROM_RANGES 0
#endif

uniform sampler2D u_input;
uniform vec2 u_affine;          // first draw: drift correction a * d + b of the depth read

layout(location = 0) out vec2 f_range;

void main() {
    ivec2 size = textureSize(u_input, 0);
    ivec2 base = ivec2(gl_FragCoord.xy) * STEP;
    vec2 range = vec2(1e30, -1e30);
    for (int j = 0; j < STEP; ++j) {
        for (int i = 0; i < STEP; ++i) {
            // Clamped: a partial block at the right or top edge reads its last texels again,
            // which leaves its range as it is.
            vec4 t = texelFetch(u_input, min(base + ivec2(i, j), size - 1), 0);
#if FROM_RANGES
            vec2 r = t.rg;
#else
            vec2 r = vec2(u_affine.x * t.r + u_affine.y);
#endif
            range = vec2(min(range.x, r.x), max(range.y, r.y));
        }
    }
    f_range = range;
}
