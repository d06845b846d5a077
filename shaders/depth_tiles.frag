#version 330 core
// Depth conditioning, tile classification (first half): the range (min, max) of the
// (drift-corrected) inverse depth over blocks of the output, reduced in two draws of this program so both stay
// parallel (one STEP x STEP reduction each: 8 from the depth, then TILE / 8 from those
// ranges). depth_tiles.vert widens it to the neighbouring blocks and sends each block to the
// refinement program that it needs.
#include "common.glsl"

#ifndef STEP
#define STEP 8
#endif
// 0: the input is inverse depth (r); 1: it is a range texture of the first draw (rg).
#ifndef FROM_RANGES
#define FROM_RANGES 0
#endif

// LIGHTS 1 (depth coarser than the colour, where small lights' depth is restored): the first
// draw also notes whether a pixel of the block is clipped white in every channel (a light, as
// depth_refine.frag tests it, a hair lower so rounding cannot miss one).
#ifndef LIGHTS
#define LIGHTS 0
#endif
#ifndef COLOR_IS_SRGB
#define COLOR_IS_SRGB 1
#endif

uniform sampler2D u_input;
uniform sampler2D u_color;      // LIGHTS, first draw: the colour frame (the output's size)
uniform vec2 u_affine;          // first draw: drift correction a * d + b of the depth read

layout(location = 0) out vec4 f_range;  // min, max, 1 if a light is in the block

void main() {
    ivec2 size = textureSize(u_input, 0);
    ivec2 base = ivec2(gl_FragCoord.xy) * STEP;
    vec2 range = vec2(1e30, -1e30);
    float light = 0.0;
    for (int j = 0; j < STEP; ++j) {
        for (int i = 0; i < STEP; ++i) {
            // Clamped: a partial block at the right or top edge reads its last texels again,
            // which leaves its range as it is.
            ivec2 q = min(base + ivec2(i, j), size - 1);
            vec4 t = texelFetch(u_input, q, 0);
#if FROM_RANGES
            vec2 r = t.rg;
            light = max(light, t.b);
#else
            vec2 r = vec2(u_affine.x * t.r + u_affine.y);
#if LIGHTS
            vec3 c = texelFetch(u_color, q, 0).rgb;
#if !COLOR_IS_SRGB
            c = linear_to_srgb(c);
#endif
            light = min(min(c.r, c.g), c.b) >= LIGHT_LEVEL - 0.005 ? 1.0 : light;
#endif
#endif
            range = vec2(min(range.x, r.x), max(range.y, r.y));
        }
    }
    f_range = vec4(range, light, 0.0);
}
