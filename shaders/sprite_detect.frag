#version 330 core
// Bright isolated sources far out of focus are drawn as bokeh sprites (sprite.geom/.frag) instead
// of being gathered: a gather finds a source one texel wide only where a sample happens to land
// on it, so its disc comes out mottled; a sprite is an exact, flat aperture image with a crisp
// rim. Per half-res texel: the light above its surroundings (the median of a ring two texels
// out, so that a source straddling texels, or a few texels wide, is not its own background)
// goes to the sprite, the rest stays in the layer the gathers read. Energy is conserved: layer + sprite = input. Before that, thin sharp objects
// are seen past (see_past_thin_sharp).
#include "common.glsl"

uniform sampler2D u_half;          // linear rgb + signed CoC diameter (full-res px)

layout(location = 0) out vec4 f_clean;   // the half-res layer without the sprites' light
layout(location = 1) out vec4 f_sprite;  // excess light carried by a sprite, signed CoC diameter

// A thin sharp object (a bar of a fence, a pole) in front of a blurred background hides the
// background behind it from the far gather, which then averages what it sees around: on the
// sides of the bar that is mostly one side. The lens, focused on the bar, sees straight past it,
// so the hidden background is taken here as the continuation of the background on both sides
// (within SHARP_SPAN texels), for the far gather only: the sharp pixels are drawn at full res.
vec4 see_past_thin_sharp(ivec2 p, ivec2 size, vec4 center) {
    if (abs(center.a) >= SHARP_COC) {
        return center;
    }
    vec4 best = center;
    float best_span = 1e9;
    for (int axis = 0; axis < 2; ++axis) {
        ivec2 step = axis == 0 ? ivec2(1, 0) : ivec2(0, 1);
        vec4 side[2];
        float dist[2];
        bool found[2];
        for (int k = 0; k < 2; ++k) {
            found[k] = false;
            dist[k] = 0.0;
            int sgn = k == 0 ? 1 : -1;
            for (int d = 1; d <= SHARP_SPAN; ++d) {
                ivec2 q = p + sgn * d * step;
                if (any(lessThan(q, ivec2(0))) || any(greaterThanEqual(q, size))) {
                    break;
                }
                vec4 s = texelFetch(u_half, q, 0);
                if (s.a >= SHARP_COC && s.a > center.a) {
                    side[k] = s;
                    dist[k] = float(d);
                    found[k] = true;
                    break;
                }
                if (abs(s.a) >= SHARP_COC) {
                    break;  // a blurred neighbour in front: not a thin object before a background
                }
            }
        }
        float span = dist[0] + dist[1];
        // Boosted light beside the object (above display white) is the glow of a small sharp
        // light, its colour at the background's depth, not a background to continue.
        bool glow = found[0] && found[1] && max(luma(side[0].rgb), luma(side[1].rgb)) > 1.0;
        if (found[0] && found[1] && !glow && span < best_span) {
            best_span = span;
            best = (side[0] * dist[1] + side[1] * dist[0]) / span;
        }
    }
    return best;
}

// Per channel, the median of eight ring samples: the background beside a light of up to three
// ring samples' size (a light straddling texels lands on some of its own ring; a mean took that
// as background and left the light's rim texels to the gather, which mottled its disc).
vec3 median8(vec3 v[8]) {
    // Batcher's odd-even merge network for 8 (19 compare-exchanges), per channel through min/max.
    const int A[19] = int[19](0, 2, 4, 6, 0, 1, 4, 5, 1, 5, 0, 1, 2, 3, 2, 3, 1, 3, 5);
    const int B[19] = int[19](1, 3, 5, 7, 2, 3, 6, 7, 2, 6, 4, 5, 6, 7, 4, 5, 2, 4, 6);
    for (int i = 0; i < 19; ++i) {
        vec3 lo = min(v[A[i]], v[B[i]]);
        vec3 hi = max(v[A[i]], v[B[i]]);
        v[A[i]] = lo;
        v[B[i]] = hi;
    }
    return 0.5 * (v[3] + v[4]);
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    ivec2 size = textureSize(u_half, 0);
    vec4 center = see_past_thin_sharp(p, size, texelFetch(u_half, p, 0));
    float r = center.a * 0.5;
    f_clean = center;
    f_sprite = vec4(0.0, 0.0, 0.0, center.a);
    // Far field only, and only where the disc is large enough for a gather to mottle it.
    if (r < SPRITE_MIN_RADIUS || luma(center.rgb) < SPRITE_EXCESS_START) {
        return;
    }
    vec3 ring[8];
    for (int i = 0, k = 0; i < 9; ++i) {
        if (i == 4) {
            continue;
        }
        ivec2 o = ivec2(i % 3, i / 3) * 2 - 2;
        ring[k++] = texelFetch(u_half, clamp(p + o, ivec2(0), size - 1), 0).rgb;
    }
    vec3 background = min(median8(ring), center.rgb);
    vec3 excess = center.rgb - background;
    float take = smoothstep(SPRITE_EXCESS_START, SPRITE_EXCESS_FULL, luma(excess))
        * smoothstep(SPRITE_MIN_RADIUS, SPRITE_MIN_RADIUS + 2.0, r);
    f_sprite.rgb = excess * take;
    f_clean.rgb = center.rgb - f_sprite.rgb;
}
