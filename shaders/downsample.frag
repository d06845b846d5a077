#version 330 core
// CoC-aware half-resolution prefilter in linear light.
// Each output texel takes the CoC of its nearest tap (so foreground edges keep theirs) and averages
// only the taps of similar CoC (no colour from across a depth edge). Clipped highlights of LDR
// footage are re-expanded here, before any blur, so bokeh discs keep their energy. The average is
// luma-weighted (Karis) only above the boosted range, to tame isolated fireflies of HDR input.
#include "common.glsl"

uniform sampler2D u_color;
uniform sampler2D u_coc;
uniform bool u_color_is_srgb;
uniform float u_highlight_threshold;
uniform float u_highlight_gain;

out vec4 f_half;  // linear rgb, signed CoC diameter (full-res px)

vec3 load_linear(ivec2 p) {
    vec3 c = texelFetch(u_color, p, 0).rgb;
    vec3 display = u_color_is_srgb ? c : linear_to_srgb(c);
    vec3 lin = u_color_is_srgb ? srgb_to_linear(c) : c;
    float peak = max(display.r, max(display.g, display.b));
    float ramp = smoothstep(u_highlight_threshold, 1.0, peak);
    return lin * (1.0 + u_highlight_gain * ramp * ramp);
}

void main() {
    ivec2 size = textureSize(u_color, 0);
    ivec2 base = ivec2(gl_FragCoord.xy) * 2;
    vec3 col[4];
    float coc[4];
    float cref = 1e9;
    for (int i = 0; i < 4; ++i) {
        ivec2 p = min(base + ivec2(i & 1, i >> 1), size - 1);
        col[i] = load_linear(p);
        coc[i] = texelFetch(u_coc, p, 0).r;
        cref = min(cref, coc[i]);
    }
    vec3 acc = vec3(0.0);
    float wsum = 0.0;
    for (int i = 0; i < 4; ++i) {
        float similar = clamp(1.0 - abs(coc[i] - cref) / (1.0 + 0.25 * abs(cref)), 0.0, 1.0);
        float w = similar / (1.0 + max(luma(col[i]) - FIREFLY_LUMA, 0.0));
        acc += col[i] * w;
        wsum += w;
    }
    f_half = vec4(acc / max(wsum, 1e-6), cref);
}
