#version 330 core
// Full-resolution composite. In-focus pixels keep the full-resolution input; slight defocus
// (CoC radius below SLIGHT_END px) is gathered here at full resolution; stronger defocus comes from
// the half-res far layer, upsampled with CoC-aware weights so it does not bleed across depth
// edges; the near layer is laid over everything by its alpha. Output is display-encoded (sRGB).
#include "common.glsl"
#include "aperture.glsl"
#include "sampling.glsl"

uniform sampler2D u_color;
uniform sampler2D u_coc;
uniform sampler2D u_half;
uniform sampler2D u_far;
uniform sampler2D u_near;
uniform bool u_color_is_srgb;

in vec2 v_uv;
out vec4 f_color;

vec3 load_linear(ivec2 p) {
    vec3 c = texelFetch(u_color, p, 0).rgb;
    return u_color_is_srgb ? srgb_to_linear(c) : c;
}

// Small full-resolution scatter-as-gather for CoC radii up to SLIGHT_END px.
vec3 slight_gather(ivec2 p, float c0, float r0) {
    ivec2 size = textureSize(u_color, 0);
    float radius = r0 + 0.5;
    float rotation = JITTER * 2.0 * PI * ign(gl_FragCoord.xy + 5.0);
    float shape_area = aperture_area_factor();
    float disc_area = PI * radius * radius * u_squeeze;
    vec3 acc = vec3(0.0);
    float wsum = 0.0;
    for (int i = 0; i < SLIGHT_SAMPLES; ++i) {
        float area_fraction;
        vec2 o = spiral_sample(i, SLIGHT_SAMPLES, rotation, area_fraction)
            * vec2(radius, radius * u_squeeze);
        ivec2 q = clamp(p + ivec2(round(o)), ivec2(0), size - 1);
        float c = texelFetch(u_coc, q, 0).r;
        float r = abs(c) * 0.5;
        if (c > c0) {
            r = min(r, r0);
        }
        // Offset from the sample to p; reflected for samples in front of the focus plane.
        vec2 to_p = vec2(p - q) * (c < 0.0 ? -1.0 : 1.0);
        float cover = clamp(r - aperture_norm(to_p) + 0.5, 0.0, 1.0);
        float w = cover * area_fraction * disc_area / (max(r * r, 0.25) * shape_area);
        acc += load_linear(q) * w;
        wsum += w;
    }
    vec3 own = load_linear(p);
    // The centre pixel always lands on itself; it anchors the estimate when samples are sparse.
    float w0 = 1.0 / (max(r0 * r0, 0.25) * shape_area);
    return (acc + own * w0) / (wsum + w0);
}

// Far layer at this pixel: bilinear taps of the half-res layer, down-weighted where their CoC
// differs from this pixel's, so a sharp edge does not pick up the colour across it.
vec4 far_upsample(float c0) {
    vec2 size = vec2(textureSize(u_far, 0));
    vec2 pos = v_uv * size - 0.5;
    vec2 f = fract(pos);
    ivec2 base = ivec2(floor(pos));
    vec4 acc = vec4(0.0);
    float wsum = 0.0;
    for (int i = 0; i < 4; ++i) {
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
    float c0 = texelFetch(u_coc, p, 0).r;
    float r0 = abs(c0) * 0.5;
    float to_far = smoothstep(SLIGHT_END - 1.0, SLIGHT_END, r0);
    vec3 result;
    if (to_far < 1.0) {
        result = r0 > 0.25 ? slight_gather(p, c0, r0) : load_linear(p);
    }
    vec4 near = texture(u_near, v_uv);
    if (to_far > 0.0) {
        vec4 far = far_upsample(c0);
        vec3 far_color = far.rgb;
        if (c0 < -1.0 && near.a > 0.01) {
            // A blurred foreground pixel with no background within its CoC has nothing to show
            // through: behind the (slightly under-estimated) near alpha lies the near layer itself,
            // not this pixel's sharp colour.
            far_color = mix(near.rgb, far.rgb, clamp(far.a * 20.0, 0.0, 1.0));
        }
        result = to_far < 1.0 ? mix(result, far_color, to_far) : far_color;
    }
    result = mix(result, near.rgb, near.a);
    f_color = vec4(linear_to_srgb(result), 1.0);
}
