#version 330 core
// Bokeh sprites of up to four sources (one 2x2 block of half-res texels, sprite.geom): each
// source's light spread evenly over its aperture image, with a one-pixel antialiased rim, added
// into the sprite layer. As in the gathers, a source behind a pixel may not blur over it by more
// than that pixel's own CoC (a sharper foreground hides it).
#include "common.glsl"
#include "aperture.glsl"

uniform sampler2D u_coc;           // signed CoC diameter, full res (one channel: a cheaper fetch)

flat in vec4 v_light[4];           // light per unit of covered area, signed CoC diameter
flat in vec4 v_source[2];          // the sources' positions, full-res px, two per vec4

out vec4 f_color;

void main() {
    vec2 p = gl_FragCoord.xy;
    float c0 = texelFetch(u_coc, ivec2(p), 0).r;
    vec3 sum = vec3(0.0);
    for (int k = 0; k < 4; ++k) {
        vec4 light = v_light[k];
        vec2 source = (k & 1) == 0 ? v_source[k >> 1].xy : v_source[k >> 1].zw;
        vec3 radius = channel_radius(light.a, 0.5);
        vec3 r = light.a > c0 ? min(radius, vec3(abs(c0) * 0.5)) : radius;
        sum += light.rgb * clamp(r - shape_norm(p - source, source) + 0.5, 0.0, 1.0);
    }
    f_color = vec4(sum, 0.0);
}
