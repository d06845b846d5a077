#version 330 core
// Signed circle-of-confusion diameter in pixels (negative in front of the focus plane), from
// inverse depth: c = K * (1/S - 1/z), clamped to the renderer's largest CoC. See lens.py.
// Also the input in linear light beside its CoC, so later full-resolution passes fetch one
// texel per tap and decode sRGB once per pixel, not once per tap.
#include "common.glsl"

uniform sampler2D u_inv_depth;
uniform sampler2D u_color;
uniform bool u_color_is_srgb;
uniform float u_coc_scale;   // K in px at the output width
uniform float u_inv_focus;   // 1/S in 1/m
uniform float u_max_coc;     // largest |CoC| diameter in px

in vec2 v_uv;
layout(location = 0) out float f_coc;
layout(location = 1) out vec4 f_full;   // linear rgb, signed CoC diameter

float coc_at(vec2 uv) {
    float w = texture(u_inv_depth, uv).r;
    return clamp(u_coc_scale * (u_inv_focus - w), -u_max_coc, u_max_coc);
}

void main() {
    f_coc = coc_at(v_uv);
    // Depth is one sample per pixel, colour is not: the antialiased rim of a thin foreground
    // object (a wire, a branch) carries its colour at the background's depth, and would stay
    // as a sharp line beside its blurred self. A pixel next to a much nearer, strongly blurred
    // neighbour is blurred with it (a one-pixel near-field dilation).
    vec2 texel = 1.0 / vec2(textureSize(u_color, 0));
    const ivec2 NEIGHBOURS[8] = ivec2[](ivec2(1, 0), ivec2(-1, 0), ivec2(0, 1), ivec2(0, -1),
                                        ivec2(1, 1), ivec2(-1, 1), ivec2(1, -1), ivec2(-1, -1));
    // The colours of this pixel and of its four axis neighbours, each fetched once: neighbour i's
    // opposite is neighbour i ^ 1 (cost on llvmpipe is per fetch).
    ivec2 p = ivec2(gl_FragCoord.xy);
    ivec2 last = textureSize(u_color, 0) - 1;
    vec3 own = texelFetch(u_color, p, 0).rgb;
    vec3 side[4];
    for (int i = 0; i < 4; ++i) {
        side[i] = texelFetch(u_color, clamp(p + NEIGHBOURS[i], ivec2(0), last), 0).rgb;
    }
    float nearest = f_coc;
    float sharp_rim = f_coc;
    for (int i = 0; i < 8; ++i) {
        float c = coc_at(v_uv + vec2(NEIGHBOURS[i]) * texel);
        nearest = min(nearest, c);
        // The same for a sharp object before a blurred background, but only where this pixel's
        // colour is the object's rather than the background's (the neighbour on the far side):
        // a blurred background must not keep a sharp ring around everything in focus.
        if (i < 4) {
            int j = min(i, 3);  // (only 0..3 get here; keeps the index visibly in range)
            if (abs(c) < SHARP_COC && f_coc >= SHARP_COC && c < sharp_rim
                    && distance(own, side[j]) < distance(own, side[j ^ 1])) {
                sharp_rim = c;
            }
        }
    }
    if (nearest < -NEAR_DILATE_MIN && nearest < f_coc - NEAR_DILATE_GAP) {
        f_coc = nearest;
    } else if (sharp_rim < f_coc) {
        f_coc = sharp_rim;
    }
    f_full = vec4(u_color_is_srgb ? srgb_to_linear(own) : own, f_coc);
}
