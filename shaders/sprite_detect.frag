#version 330 core
// Bright isolated sources far out of focus are drawn as bokeh sprites (sprite.vert/.frag) instead
// of being gathered: a gather finds a source one texel wide only where a sample happens to land
// on it, so its disc comes out mottled; a sprite is an exact, flat aperture image with a crisp
// rim. Per half-res texel: the light above its surroundings (a ring two texels out, so a source
// straddling texels is not its own background) goes to the sprite, the rest stays in the layer
// the gathers read. Energy is conserved: layer + sprite = input.
#include "common.glsl"

uniform sampler2D u_half;          // linear rgb + signed CoC diameter (full-res px)

layout(location = 0) out vec4 f_clean;   // the half-res layer without the sprites' light
layout(location = 1) out vec4 f_sprite;  // excess light carried by a sprite, signed CoC diameter

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    ivec2 size = textureSize(u_half, 0);
    vec4 center = texelFetch(u_half, p, 0);
    float r = center.a * 0.5;
    f_clean = center;
    f_sprite = vec4(0.0, 0.0, 0.0, center.a);
    // Far field only, and only where the disc is large enough for a gather to mottle it.
    if (r < SPRITE_MIN_RADIUS || luma(center.rgb) < SPRITE_EXCESS_START) {
        return;
    }
    vec3 ring = vec3(0.0);
    float n = 0.0;
    for (int i = 0; i < 9; ++i) {
        ivec2 o = ivec2(i % 3, i / 3) * 2 - 2;
        if (i == 4) {
            continue;
        }
        vec4 s = texelFetch(u_half, clamp(p + o, ivec2(0), size - 1), 0);
        ring += s.rgb;
        n += 1.0;
    }
    vec3 background = min(ring / n, center.rgb);
    vec3 excess = center.rgb - background;
    float take = smoothstep(SPRITE_EXCESS_START, SPRITE_EXCESS_FULL, luma(excess))
        * smoothstep(SPRITE_MIN_RADIUS, SPRITE_MIN_RADIUS + 2.0, r);
    f_sprite.rgb = excess * take;
    f_clean.rgb = center.rgb - f_sprite.rgb;
}
