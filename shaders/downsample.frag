#version 330 core
// CoC-aware half-resolution prefilter in linear light.
// Each output texel takes the CoC of its nearest tap (so foreground edges keep theirs) and averages
// only the taps of similar CoC (no colour from across a depth edge). Clipped highlights of LDR
// footage are re-expanded here, before any blur, so bokeh discs keep their energy. The average is
// luma-weighted (Karis) only above the boosted range, to tame isolated fireflies of HDR input.
#include "common.glsl"

uniform sampler2D u_full;      // linear rgb + signed CoC diameter, full res
uniform float u_highlight_threshold;
uniform float u_highlight_gain;  // 0 for scene-linear input: it carries its true energy
uniform float u_firefly_luma;  // luma above which taps are down-weighted (off for float plates)

layout(location = 0) out vec4 f_half;      // linear rgb, signed CoC diameter (full-res px)
layout(location = 1) out vec2 f_centroid;  // light-weighted centre of the 2x2 block, full-res px
                                           // from the block's centre (where a sprite is drawn)

// How far a pixel is into the clipped range: 0 below the threshold, 1 at full clip. The
// threshold is a display level: compare the brightest channel in display encoding.
float display_peak(vec3 lin) {
    return linear_to_srgb(vec3(max(lin.r, max(lin.g, lin.b)))).r;
}

float clip_ramp(vec3 lin) {
    return smoothstep(u_highlight_threshold, 1.0, display_peak(lin));
}

void main() {
    ivec2 size = textureSize(u_full, 0);
    ivec2 base = ivec2(gl_FragCoord.xy) * 2;
    vec3 col[4];
    float coc[4];
    float ramp[4];
    float cref = 1e9;
    float cref_blurred = 1e9;
    float any_clip = 0.0;
    for (int i = 0; i < 4; ++i) {
        ivec2 p = min(base + ivec2(i & 1, i >> 1), size - 1);
        vec4 t = texelFetch(u_full, p, 0);
        col[i] = t.rgb;
        coc[i] = t.a;
        cref = min(cref, coc[i]);
        if (abs(coc[i]) >= SHARP_COC) {
            cref_blurred = min(cref_blurred, coc[i]);
        }
        ramp[i] = clip_ramp(t.rgb);
        any_clip = max(any_clip, ramp[i]);
    }
    // Pixels sharp enough for the full-resolution gather never take their colour from this
    // layer; where they share a block with blurred pixels (a thin sharp bar before a blurred
    // background), the block stands for the blurred ones, or the bar would hide twice its
    // width of background from the gathers.
    if (cref_blurred < 1e8) {
        cref = cref_blurred;
    }
    float gain = u_highlight_gain;
    vec3 hue = vec3(1.0);
    float hue_weight = 0.0;
    // The ring is a loop with no turns where nothing is clipped, not an `if`: a software
    // rasteriser runs an `if`'s body for every pixel of a block but leaves a loop no pixel is in.
    int ring_taps = any_clip > 0.0 && gain > 0.0 ? 16 : 0;
    {
        // Look around the highlight: a light that stays clipped HIGHLIGHT_RING px out is a large
        // bright surface (a sky, a white wall), merely over-exposed, not a small intense source:
        // boost it less. The unclipped glow around a clipped light shows the light's colour,
        // which clipping turned white: keep it for the boosted light.
        vec3 hue_sum = vec3(0.0);
        float ring_clip = 0.0;
        for (int i = 0; i < ring_taps; ++i) {
            float ring = i < 8 ? 0.5 * HIGHLIGHT_RING : HIGHLIGHT_RING;
            float a = float(i) * (PI / 4.0) + (i < 8 ? 0.0 : PI / 8.0);
            vec2 pos = vec2(base) + 0.5 + ring * vec2(cos(a), sin(a));
            vec3 s = texelFetch(u_full, clamp(ivec2(floor(pos)), ivec2(0), size - 1), 0).rgb;
            float peak = display_peak(s);
            float c = smoothstep(u_highlight_threshold, 1.0, peak);
            if (i >= 8) {
                ring_clip += c / 8.0;
            }
            // Coloured glow: bright (a surface around the light is no guide to its colour)
            // but unclipped, weighted by its light.
            float w = (1.0 - c) * smoothstep(HUE_GLOW_START, HUE_GLOW_START + 0.2, peak);
            hue_sum += w * s;
            hue_weight += w * luma(s);
        }
        gain *= 1.0 - HIGHLIGHT_SIZE_DAMP * ring_clip;
        if (hue_weight > 1e-4) {
            hue = hue_sum / max(luma(hue_sum), 1e-6);   // luma 1
            hue_weight = smoothstep(0.0, 0.1, hue_weight);
        }
    }
    vec3 acc = vec3(0.0);
    float wsum = 0.0;
    vec2 light_centre = vec2(0.0);
    float lsum = 0.0;
    for (int i = 0; i < 4; ++i) {
        if (ramp[i] > 0.0) {
            // A clipped pixel is white where the light was coloured: take the glow's colour
            // for as much as it is white (all channels clipped alike).
            float white = smoothstep(0.8, 0.98, min(col[i].r, min(col[i].g, col[i].b))
                                     / max(max(col[i].r, max(col[i].g, col[i].b)), 1e-6));
            col[i] = mix(col[i], luma(col[i]) * hue, white * hue_weight * ramp[i]);
            col[i] *= 1.0 + gain * ramp[i] * ramp[i];
        }
        float l = luma(col[i]);
        light_centre += l * (vec2(float(i & 1), float(i >> 1)) - 0.5);
        lsum += l;
        float similar = clamp(1.0 - abs(coc[i] - cref) / (1.0 + 0.25 * abs(cref)), 0.0, 1.0);
        float w = similar / (1.0 + max(l - u_firefly_luma, 0.0));
        acc += col[i] * w;
        wsum += w;
    }
    f_half = vec4(acc / max(wsum, 1e-6), cref);
    f_centroid = lsum > 1e-6 ? light_centre / lsum : vec2(0.0);
}
