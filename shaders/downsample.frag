#version 330 core
// CoC-aware half-resolution prefilter in linear light.
// Each output texel takes the CoC of its nearest tap (so foreground edges keep theirs) and averages
// only the taps of similar CoC (no colour from across a depth edge). Clipped highlights of LDR
// footage are re-expanded here, before any blur, so bokeh discs keep their energy. The average is
// luma-weighted (Karis) only above the boosted range, to tame isolated fireflies of HDR input.
#include "common.glsl"
#include "highlight.glsl"

uniform sampler2D u_full;      // linear rgb + signed CoC diameter, full res
uniform float u_highlight_threshold;
uniform float u_highlight_gain;  // 0 for scene-linear input: it carries its true energy
uniform float u_firefly_luma;  // luma above which taps are down-weighted (off for float plates)

layout(location = 0) out vec4 f_half;      // linear rgb, signed CoC diameter (full-res px)
layout(location = 1) out vec2 f_centroid;  // light-weighted centre of the 2x2 block, full-res px
                                           // from the block's centre (where a sprite is drawn)
layout(location = 2) out float f_gain;     // the block's highlight gain, damped for a large
                                           // clipped surface: lit.frag re-expands its clipped
                                           // pixels by the same for the full-res gathers

// The full-res colour at a pixel position, clamped to the frame.
vec3 full_at(ivec2 size, vec2 pos) {
    return texelFetch(u_full, clamp(ivec2(floor(pos)), ivec2(0), size - 1), 0).rgb;
}


// How white a pixel is (its weakest channel against its strongest): 1 where a light's colour
// was clipped away, 0 for a saturated colour.
float whiteness(vec3 lin) {
    return smoothstep(0.8, 0.98, min(lin.r, min(lin.g, lin.b))
                      / max(max(lin.r, max(lin.g, lin.b)), 1e-6));
}

void main() {
    ivec2 size = textureSize(u_full, 0);
    ivec2 base = ivec2(gl_FragCoord.xy) * 2;
    vec3 col[4];
    float coc[4];
    float ramp[4];
    float white[4];
    float any_white = 0.0;
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
        ramp[i] = clip_ramp(t.rgb, u_highlight_threshold);
        any_clip = max(any_clip, ramp[i]);
        // All channels clipped alike: a light whose colour clipping took (see below).
        white[i] = ramp[i] * whiteness(t.rgb);
        any_white = max(any_white, white[i]);
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
    // Eight directions out from the block, in loops with no turns where nothing is clipped or
    // white (a software rasteriser runs an `if`'s body for every pixel of a block, but leaves a
    // loop no pixel is in).
    int directions = any_clip > 0.0 && gain > 0.0 ? 8 : 0;
    int hue_directions = any_white > 0.0 && gain > 0.0 ? 8 : 0;
    {
        // Look around the highlight: a light that stays clipped HIGHLIGHT_RING px out is a large
        // bright surface (a sky, a white wall), merely over-exposed, not a small intense source:
        // boost it less.
        float ring_clip = 0.0;
        vec2 centre = vec2(base) + 1.0;
        for (int i = 0; i < directions; ++i) {
            float a = float(i) * (PI / 4.0);
            vec2 at = centre + HIGHLIGHT_RING * vec2(cos(a), sin(a));
            ring_clip += clip_ramp(full_at(size, at), u_highlight_threshold) / 8.0;
        }
        // A white clipped pixel's colour, which clipping took, shows in two places:
        // - the light's unclipped glow, half that far out: bright (a surface around the light
        //   is no guide to its colour), weighted by its light, and taken as what it adds over
        //   the ring further out, so that a small light's rim, part desk, does not bring the
        //   desk;
        // - a small light often has no glow, only an antialiased rim: walking out, the first
        //   pixel below the clip level (within FRINGE_REACH px) is part light, part
        //   background, and what it has over the background FRINGE_BACK px further out is the
        //   light's own colour, times its coverage of that pixel (a red LED's rim over a brown
        //   desk). Not for a large clipped surface, whose outer ring is partly clipped too: its
        //   edge is the border between two surfaces, not a light's rim (a white shirt over blue
        //   jeans would turn yellow).
        vec3 glow_sum = vec3(0.0);
        vec3 rim_sum = vec3(0.0);
        for (int i = 0; i < hue_directions; ++i) {
            float a = float(i) * (PI / 4.0);
            vec2 dir = vec2(cos(a), sin(a));
            vec3 near_ring = full_at(size, centre + 0.5 * HIGHLIGHT_RING * dir);
            vec3 far_ring = full_at(size, centre + HIGHLIGHT_RING * dir);
            float peak = display_peak(near_ring);
            float w = (1.0 - smoothstep(u_highlight_threshold, 1.0, peak))
                * smoothstep(HUE_GLOW_START, HUE_GLOW_START + 0.2, peak);
            glow_sum += w * max(near_ring - far_ring, 0.0);
            float found = 0.0;
            vec3 rim = vec3(0.0);
            for (int step = 1; step <= FRINGE_REACH && found == 0.0; ++step) {
                vec3 t = full_at(size, centre + dir * float(step));
                if (display_peak(t) < u_highlight_threshold) {
                    found = float(step);
                    rim = t;
                }
            }
            if (found > 0.0) {
                vec3 back = full_at(size, centre + dir * (found + FRINGE_BACK));
                rim_sum += max(rim - back, 0.0);
            }
        }
        gain *= 1.0 - HIGHLIGHT_SIZE_DAMP * ring_clip;
        vec3 hue_sum = glow_sum + (1.0 - smoothstep(0.0, 0.25, ring_clip)) * rim_sum;
        hue_weight = luma(hue_sum);
        if (hue_weight > 1e-4) {
            hue = hue_sum / hue_weight;   // luma 1
            hue_weight = smoothstep(0.0, 0.1, hue_weight);
        }
    }
    vec3 acc = vec3(0.0);
    float wsum = 0.0;
    vec2 light_centre = vec2(0.0);
    float lsum = 0.0;
    for (int i = 0; i < 4; ++i) {
        if (ramp[i] > 0.0) {
            // A clipped pixel is white where the light was coloured: take the recovered
            // colour for as much as it is white. Every channel of a clipped pixel was at least
            // its value, so the light is at least the hue scaled until its weakest channel
            // reaches that (a saturated light clips to white only when it is that bright: an
            // LED's red or green). The scale is held to 1 / HUE_MIN_CHANNEL: a hue read from a
            // rim or a glow comes out more saturated than the light, and a light given too much
            // light where its depth is wrong spreads it over the wrong disc.
            float floor_level = min(col[i].r, min(col[i].g, col[i].b));
            vec3 light = floor_level * hue / max(min(hue.r, min(hue.g, hue.b)), HUE_MIN_CHANNEL);
            col[i] = mix(col[i], light, white[i] * hue_weight);
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
    f_gain = gain;
}
