#version 330 core
// Half-res post-filter of a gathered layer (as the Call of Duty: Advanced Warfare and Unreal
// Diaphragm DOF do): a 3x3 tent over neighbours of similar CoC, which averages away the
// per-pixel sampling noise of large blur (the sample pattern turns per pixel) without widening a
// disc's rim by more than a pixel of half res. It fades in with the blur radius, so slight
// defocus keeps its detail. The near layer is filtered premultiplied by its alpha.
#include "common.glsl"

uniform sampler2D u_layer;         // far: colour, coverage; near: colour, alpha
uniform sampler2D u_half;          // linear rgb + signed CoC diameter (full-res px)
uniform sampler2D u_tiles;         // dilated (near, far, slight near) radius in full-res px
uniform int u_tile;
uniform bool u_near;

out vec4 f_layer;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    ivec2 size = textureSize(u_layer, 0);
    vec4 centre = texelFetch(u_layer, p, 0);
    float c0 = texelFetch(u_half, p, 0).a;
    // Blur radius in half-res px that this pixel's layer value carries.
    float radius = u_near ? texelFetch(u_tiles, (p * 2) / u_tile, 0).r * 0.5 : abs(c0) * 0.25;
    float strength = POSTFILTER_STRENGTH * smoothstep(POSTFILTER_START, POSTFILTER_FULL, radius);
    if (strength <= 0.0) {
        f_layer = centre;
        return;
    }
    vec4 acc = vec4(0.0);
    float wsum = 0.0;
    for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
            ivec2 q = clamp(p + ivec2(dx, dy), ivec2(0), size - 1);
            vec4 s = texelFetch(u_layer, q, 0);
            float tent = (dx == 0 ? 2.0 : 1.0) * (dy == 0 ? 2.0 : 1.0);
            float w = tent * (dx == 0 && dy == 0 ? 1.0 : strength);
            if (u_near) {
                s.rgb *= s.a;
            } else {
                float c = texelFetch(u_half, q, 0).a;
                w *= clamp(1.0 - abs(c - c0) / (1.0 + 0.25 * abs(c0)), 0.0, 1.0);
            }
            acc += s * w;
            wsum += w;
        }
    }
    acc /= wsum;
    if (u_near) {
        acc.rgb = acc.a > 1e-6 ? acc.rgb / acc.a : vec3(0.0);
    }
    f_layer = acc;
}
