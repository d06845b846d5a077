#version 330 core
// The "plain single-pass gather" peer of the quality benchmark, for timing side by side:
// golden-angle spiral out to the frame's largest CoC radius at full resolution, a per-sample
// CoC test, samples behind the pixel clamped to the centre's CoC, linear light.
#include "common.glsl"

uniform sampler2D u_color;      // sRGB
uniform sampler2D u_inv_depth;
uniform float u_coc_scale;
uniform float u_inv_focus;
uniform float u_max_radius;     // largest CoC radius in the frame (px)
uniform int u_samples;

out vec4 f_color;

float coc_radius(ivec2 p) {
    return 0.5 * u_coc_scale * (u_inv_focus - texelFetch(u_inv_depth, p, 0).r);
}

void main() {
    ivec2 size = textureSize(u_color, 0);
    ivec2 p = ivec2(gl_FragCoord.xy);
    float c0 = coc_radius(p);
    vec3 acc = srgb_to_linear(texelFetch(u_color, p, 0).rgb);
    float wsum = 1.0;
    for (int i = 1; i < u_samples; ++i) {
        float r = u_max_radius * sqrt(float(i) / float(u_samples));
        float a = float(i) * GOLDEN_ANGLE;
        ivec2 q = clamp(p + ivec2(round(r * vec2(cos(a), sin(a)))), ivec2(0), size - 1);
        float c = coc_radius(q);
        float rad = abs(c);
        if (c > c0) rad = min(rad, abs(c0));
        if (rad >= r) {
            acc += srgb_to_linear(texelFetch(u_color, q, 0).rgb);
            wsum += 1.0;
        }
    }
    f_color = vec4(linear_to_srgb(acc / wsum), 1.0);
}
