#version 330 core
// CoC-aware half-resolution prefilter in linear light.
// Each output texel takes the CoC of its nearest tap (so foreground edges keep theirs) and averages
// only the taps of similar CoC (no colour from across a depth edge). Clipped highlights of LDR
// footage are re-expanded here, before any blur, so bokeh discs keep their energy. The average is
// luma-weighted (Karis) only above the boosted range, to tame isolated fireflies of HDR input.
#include "common.glsl"

uniform sampler2D u_full;      // linear rgb + signed CoC diameter, full res
uniform float u_highlight_threshold;
uniform float u_highlight_gain;
uniform float u_firefly_luma;  // luma above which taps are down-weighted (off for float plates)

out vec4 f_half;  // linear rgb, signed CoC diameter (full-res px)

vec3 boost(vec3 lin) {
    // The threshold is a display level: compare the brightest channel in display encoding.
    float peak = linear_to_srgb(vec3(max(lin.r, max(lin.g, lin.b)))).r;
    float ramp = smoothstep(u_highlight_threshold, 1.0, peak);
    return lin * (1.0 + u_highlight_gain * ramp * ramp);
}

void main() {
    ivec2 size = textureSize(u_full, 0);
    ivec2 base = ivec2(gl_FragCoord.xy) * 2;
    vec3 col[4];
    float coc[4];
    float cref = 1e9;
    for (int i = 0; i < 4; ++i) {
        ivec2 p = min(base + ivec2(i & 1, i >> 1), size - 1);
        vec4 t = texelFetch(u_full, p, 0);
        col[i] = boost(t.rgb);
        coc[i] = t.a;
        cref = min(cref, coc[i]);
    }
    vec3 acc = vec3(0.0);
    float wsum = 0.0;
    for (int i = 0; i < 4; ++i) {
        float similar = clamp(1.0 - abs(coc[i] - cref) / (1.0 + 0.25 * abs(cref)), 0.0, 1.0);
        float w = similar / (1.0 + max(luma(col[i]) - u_firefly_luma, 0.0));
        acc += col[i] * w;
        wsum += w;
    }
    f_half = vec4(acc / max(wsum, 1e-6), cref);
}
