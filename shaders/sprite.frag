#version 330 core
// A bokeh sprite: the source's light spread evenly over its aperture image, with a one-pixel
// antialiased rim, added into the sprite layer. As in the gathers, a source behind a pixel may
// not blur over it by more than that pixel's own CoC (a sharper foreground hides it).
#include "common.glsl"
#include "aperture.glsl"

uniform sampler2D u_coc;           // signed CoC diameter, full res (one channel: a cheaper fetch)

flat in vec3 v_energy;
flat in float v_radius;
flat in float v_coc;
flat in vec2 v_source;             // the source's position, full-res px
in vec2 v_offset;

out vec4 f_color;

void main() {
    float c0 = texelFetch(u_coc, ivec2(gl_FragCoord.xy), 0).r;
    vec3 radius = channel_radius(v_coc, 0.5);
    vec3 r = v_coc > c0 ? min(radius, vec3(abs(c0) * 0.5)) : radius;
    vec3 cover = clamp(r - shape_norm(v_offset, v_source) + 0.5, 0.0, 1.0);
    vec3 area = shape_area(v_source) * max(radius * radius, vec3(0.25));
    f_color = vec4(v_energy * (cover / area), 0.0);
}
