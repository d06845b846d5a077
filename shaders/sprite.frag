#version 330 core
// A bokeh sprite: the source's light spread evenly over its aperture image, with a one-pixel
// antialiased rim, added into the sprite layer. As in the gathers, a source behind a pixel may
// not blur over it by more than that pixel's own CoC (a sharper foreground hides it).
#include "common.glsl"
#include "aperture.glsl"

uniform sampler2D u_full;          // linear rgb + signed CoC diameter, full res

flat in vec3 v_energy;
flat in float v_radius;
flat in float v_coc;
in vec2 v_offset;

out vec4 f_color;

void main() {
    float c0 = texelFetch(u_full, ivec2(gl_FragCoord.xy), 0).a;
    float r = v_coc > c0 ? min(v_radius, abs(c0) * 0.5) : v_radius;
    float cover = clamp(r - aperture_norm(v_offset) + 0.5, 0.0, 1.0);
    float area = aperture_area_factor() * v_radius * v_radius;
    f_color = vec4(v_energy * (cover / area), 0.0);
}
