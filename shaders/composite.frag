#version 330 core
// Full-resolution composite. In-focus pixels keep the full-resolution input; slight defocus
// (CoC radius below SLIGHT_END px) is gathered here at full resolution; stronger defocus comes from
// the half-res far layer, upsampled with CoC-aware weights so it does not bleed across depth
// edges; the near layer is laid over everything by its alpha. Output is display-encoded (sRGB).
#include "common.glsl"
#include "aperture.glsl"
#include "sampling.glsl"

uniform sampler2D u_full;          // linear rgb + signed CoC diameter, full res
uniform sampler2D u_lit;           // the same with clipped highlights re-expanded (lit.frag):
                                   // what the slight-defocus gathers spread
uniform sampler2D u_half;
uniform sampler2D u_far;
uniform sampler2D u_near;
uniform sampler2D u_tiles;         // dilated (near, far, slight near) radius in full-res px
uniform sampler2D u_sprites;       // bokeh sprites of bright far sources (linear, additive)
uniform int u_tile;
uniform bool u_output_linear;      // scene-linear float output: no display curve, no clamp

in vec2 v_uv;
out vec4 f_color;


uniform float u_footprint[FOOTPRINT_SIZE];  // discrete footprint per radius, 1/FOOTPRINT_STEPS px

// Rim radius per CoC radius (same steps) whose discrete footprint has the aperture's second
// moment (LensState.discrete_rim_radius): without it a CoC below 0.5 px would not blur at all
// and one of 0.6-1.5 px would blur by up to 1.8x its variance.
uniform float u_rim_radius[FOOTPRINT_SIZE];

float footprint(float r) {
    float x = clamp(r * float(FOOTPRINT_STEPS), 0.0, float(FOOTPRINT_SIZE - 1));
    int i = int(x);
    return mix(u_footprint[i], u_footprint[min(i + 1, FOOTPRINT_SIZE - 1)], fract(x));
}

float rim_radius(float r) {
    float x = clamp(r * float(FOOTPRINT_STEPS), 0.0, float(FOOTPRINT_SIZE - 1));
    int i = int(x);
    return mix(u_rim_radius[i], u_rim_radius[min(i + 1, FOOTPRINT_SIZE - 1)], fract(x));
}

// Exact small-CoC scatter-as-gather at full resolution for radii up to SLIGHT_END px: every
// pixel within reach, its aperture coverage of p, its light spread over its own discrete
// footprint (so a source spreads exactly its energy, which pi r^2 gets wrong for small r).
vec3 slight_gather(ivec2 p, float c0, float r0, float near_reach) {
    ivec2 size = textureSize(u_full, 0);
    // Far samples behind p are clamped to r0 and those in front are sharper than p, so r0 bounds
    // their reach; slightly blurred near samples may spill from further (the tile says how far).
    int reach = int(ceil(max(r0, near_reach) + 0.5));
    vec3 acc = vec3(0.0);
    float wsum = 0.0;
    vec3 behind = vec3(0.0);   // what lies behind p, for light its nearer neighbours let through
    float behind_n = 0.0;
    // Rows span only the disc of the reach (stretched vertically for anamorphic apertures).
    int rows = int(ceil(float(reach) * u_squeeze));
    for (int dy = -rows; dy <= rows; ++dy) {
        int half_width = int(sqrt(max(float(reach * reach) - float(dy * dy) / (u_squeeze *
                                                                                u_squeeze), 0.0)));
        for (int dx = -half_width; dx <= half_width; ++dx) {
            ivec2 q = clamp(p + ivec2(dx, dy), ivec2(0), size - 1);
            vec4 s = texelFetch(u_lit, q, 0);
            float c = s.a;
            float r = abs(c) * 0.5;
            if (c > c0) {
                r = min(r, r0);  // behind p: may not blur over it by more than p's own CoC
                if (c > c0 + 1.0) {
                    behind += s.rgb;
                    behind_n += 1.0;
                }
            }
            // Offset from the sample to p; reflected for samples in front of the focus plane.
            vec2 to_p = vec2(-dx, -dy) * (c < 0.0 ? -1.0 : 1.0);
            float rim = rim_radius(r);
            float cover = clamp(rim - aperture_norm(to_p) + 0.5, 0.0, 1.0);
            if (c < 0.0) {
                // Near sources hand over to the half-res near layer as their CoC grows.
                cover *= 1.0 - smoothstep(SLIGHT_END - 1.0, SLIGHT_END, r);
            }
            if (cover > 0.0) {
                float w = cover / footprint(rim);
                acc += s.rgb * w;
                wsum += w;
            }
        }
    }
    if (wsum <= 0.0) {
        return texelFetch(u_full, p, 0).rgb;
    }
    // A slightly blurred near pixel is partly transparent: the aperture sees around it. Light
    // that lands on p covers only part of it there (wsum < 1); the rest is the background hidden
    // behind p, estimated from the farther pixels around it. Without one, renormalise.
    if (wsum < 1.0 && behind_n > 0.0) {
        return acc + (1.0 - wsum) * behind / behind_n;
    }
    return acc / wsum;
}

// Slightly blurred near sources (CoC radius below SLIGHT_END: in neither half-res layer) that
// spill over a strongly blurred pixel p, whose colour comes from the far layer: their light
// landing on p (premultiplied) and their coverage of it.
vec4 slight_near_over(ivec2 p, float c0, float near_reach) {
    ivec2 size = textureSize(u_full, 0);
    int reach = int(ceil(near_reach + 0.5));
    int rows = int(ceil(float(reach) * u_squeeze));
    vec4 acc = vec4(0.0);
    for (int dy = -rows; dy <= rows; ++dy) {
        int half_width = int(sqrt(max(float(reach * reach) - float(dy * dy) / (u_squeeze *
                                                                                u_squeeze), 0.0)));
        for (int dx = -half_width; dx <= half_width; ++dx) {
            vec4 s = texelFetch(u_lit, clamp(p + ivec2(dx, dy), ivec2(0), size - 1), 0);
            float r = -s.a * 0.5;
            if (s.a >= 0.0 || s.a >= c0 || r >= SLIGHT_END) {
                continue;
            }
            // Near the focus plane the aperture image is point-reflected: test +offset.
            float rim = rim_radius(r);
            float cover = clamp(rim - aperture_norm(vec2(dx, dy)) + 0.5, 0.0, 1.0);
            cover *= 1.0 - smoothstep(SLIGHT_END - 1.0, SLIGHT_END, r);
            if (cover > 0.0) {
                float w = cover / footprint(rim);
                acc += vec4(s.rgb * w, w);
            }
        }
    }
    return acc;
}

// Far layer at this pixel: bilinear taps of the half-res layer, down-weighted where their CoC
// differs from this pixel's, so a sharp edge does not pick up the colour across it. `taps` is 4,
// or 0 where the far layer is not used: an `if` around the call would not spare a software
// rasteriser the fetches (it runs both sides for a block of pixels), a loop of no turns does.
vec4 far_upsample(float c0, int taps) {
    vec2 size = vec2(textureSize(u_far, 0));
    vec2 pos = v_uv * size - 0.5;
    vec2 f = fract(pos);
    ivec2 base = ivec2(floor(pos));
    vec4 acc = vec4(0.0);
    float wsum = 0.0;
    for (int i = 0; i < taps; ++i) {
        ivec2 o = ivec2(i & 1, i >> 1);
        ivec2 q = clamp(base + o, ivec2(0), ivec2(size) - 1);
        float bil = (o.x == 1 ? f.x : 1.0 - f.x) * (o.y == 1 ? f.y : 1.0 - f.y);
        float c = texelFetch(u_half, q, 0).a;
        float similar = clamp(1.0 - abs(c - c0) / (1.0 + 0.5 * abs(c0)), 0.0, 1.0);
        float w = bil * similar + 1e-5;
        acc += texelFetch(u_far, q, 0) * w;
        wsum += w;
    }
    return acc / wsum;
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 own = texelFetch(u_full, p, 0);
    float c0 = own.a;
    float r0 = abs(c0) * 0.5;
    float to_far = smoothstep(SLIGHT_END - 1.0, SLIGHT_END, r0);
    float near_reach = texelFetch(u_tiles, p / u_tile, 0).b;
    vec3 result = own.rgb;
    if (to_far < 1.0 && (r0 > 0.05 || near_reach > 0.05)) {
        result = slight_gather(p, c0, r0, near_reach);
    }
    vec4 near = texture(u_near, v_uv);
    if (to_far > 0.0) {
        vec4 far = far_upsample(c0, to_far > 0.0 ? 4 : 0);
        vec3 far_color = far.rgb;
        if (c0 < -1.0 && near.a > 0.01) {
            // A blurred foreground pixel with no background within its CoC has nothing to show
            // through: behind the near alpha lies the near layer itself, not this pixel's sharp
            // colour (where the alpha is 1 the far gather skipped the fill: gather_far.frag).
            far_color = mix(near.rgb, far.rgb, clamp(far.a * 20.0, 0.0, 1.0));
        }
        if (near_reach > 0.05) {
            vec4 spill = slight_near_over(p, c0, near_reach);
            far_color = far_color * max(1.0 - spill.a, 0.0) + spill.rgb;
        }
        result = to_far < 1.0 ? mix(result, far_color, to_far) : far_color;
    }
    result += texelFetch(u_sprites, p, 0).rgb;
    result = mix(result, near.rgb, near.a);
    f_color = vec4(u_output_linear ? result : linear_to_srgb(result), 1.0);
}
