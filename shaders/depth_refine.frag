#version 330 core
// Depth conditioning: edge-aware refinement of inverse depth guided by the colour frame, and
// the per-pixel temporal blend of the stabiliser. The numpy reference is
// rackfocus_live/depthcond.py (refine_edges, temporal_blend): same taps, weights and rules.
//
// Output (RG32F, full resolution): r = conditioned inverse depth, g = guide luma (the next
// frame's temporal blend compares against it).
#include "common.glsl"

#ifndef TAPS
#define TAPS 7
#endif
#define N (TAPS * TAPS)

uniform sampler2D u_depth;      // raw inverse depth, any resolution, LINEAR filtered
uniform sampler2D u_color;      // full-resolution colour
uniform sampler2D u_prev;       // previous output (r = depth, g = luma)
uniform bool u_color_is_srgb;   // false: linear light (encoded to display for the guide)
uniform vec2 u_affine;          // drift correction applied to raw depth: a * d + b
uniform float u_radius;         // tap radius in output pixels
uniform bool u_refine;
uniform bool u_temporal;

const vec3 LUMA_WEIGHTS = vec3(0.299, 0.587, 0.114);

in vec2 v_uv;
layout(location = 0) out vec2 f_out;

float band(float v) {
    return BAND_REL * abs(v) + BAND_ABS;
}

vec3 guide_at(ivec2 p) {
    vec3 c = texelFetch(u_color, p, 0).rgb;
    return u_color_is_srgb ? c : linear_to_srgb(c);
}

float depth_at(ivec2 p, vec2 size) {
    // Bilinear at the output pixel's centre, i.e. the depth upsampled to the output size.
    return u_affine.x * texture(u_depth, (vec2(p) + 0.5) / size).r + u_affine.y;
}

float tap_offset(int i) {
    float x = mix(-u_radius, u_radius, float(i) / float(TAPS - 1));
    return sign(x) * floor(abs(x) + 0.5);
}

float refine(ivec2 p, ivec2 isize, vec3 centre) {
    vec2 size = vec2(isize);
    float sigma_s = 0.5 * u_radius;
    float v[N];
    float wt[N];
    float lo = 1e30, hi = -1e30, total = 0.0, mean_num = 0.0;
    for (int j = 0; j < TAPS; ++j) {
        for (int i = 0; i < TAPS; ++i) {
            vec2 off = vec2(tap_offset(i), tap_offset(j));
            ivec2 q = clamp(p + ivec2(off), ivec2(0), isize - 1);
            vec3 d = guide_at(q) - centre;
            float w = exp(-dot(off, off) / (2.0 * sigma_s * sigma_s))
                    * exp(-dot(d, d) / (2.0 * SIGMA_COLOR * SIGMA_COLOR));
            float value = depth_at(q, size);
            int k = j * TAPS + i;
            v[k] = value;
            wt[k] = w;
            lo = min(lo, value);
            hi = max(hi, value);
            total += w;
            mean_num += w * value;
        }
    }
    // Smooth window: every tap is within the band of any value in it, so the result is the
    // weighted mean (the full path below gives exactly this; skipped for speed).
    if (hi - lo <= band(lo)) return mean_num / total;

    // Weighted quantiles: the smallest value whose cumulative weight (ties by index, as a
    // stable sort) reaches p * total.
    float q25 = 1e30, q50 = 1e30, q75 = 1e30;
    for (int i = 0; i < N; ++i) {
        float c = 0.0;
        for (int j = 0; j < N; ++j) {
            c += (v[j] < v[i] || (v[j] == v[i] && j <= i)) ? wt[j] : 0.0;
        }
        if (c >= 0.25 * total) q25 = min(q25, v[i]);
        if (c >= 0.5 * total) q50 = min(q50, v[i]);
        if (c >= 0.75 * total) q75 = min(q75, v[i]);
    }
    float support = 0.0;
    for (int k = 0; k < N; ++k) support += abs(v[k] - q50) <= band(q50) ? wt[k] : 0.0;
    float m = q50;
    if (q75 - q25 > 2.0 * band(q50) && support / total < SUPPORT_MIN) {
        m = (q50 - q25 < q75 - q50) ? q25 : q75;   // the near side on a tie
    }
    float num = 0.0, den = 0.0;
    for (int k = 0; k < N; ++k) {
        if (abs(v[k] - m) <= band(m)) {
            num += wt[k] * v[k];
            den += wt[k];
        }
    }
    return num / den;
}

void main() {
    ivec2 isize = textureSize(u_color, 0);
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec3 centre = guide_at(p);
    float luma_now = dot(centre, LUMA_WEIGHTS);
    float w = u_refine ? refine(p, isize, centre) : depth_at(p, vec2(isize));
    if (u_temporal) {
        vec2 prev = texelFetch(u_prev, p, 0).rg;
        float tol = DEPTH_STILL_REL * abs(prev.x) + BAND_ABS;
        float k = (1.0 - smoothstep(0.5 * LUMA_STILL, LUMA_STILL, abs(luma_now - prev.y)))
                * (1.0 - smoothstep(0.5 * tol, tol, abs(w - prev.x)));
        w += TEMPORAL_KEEP * k * (prev.x - w);
    }
    f_out = vec2(w, luma_now);
}
