#version 330 core
// Signed circle-of-confusion diameter in pixels (negative in front of the focus plane), from
// inverse depth: c = K * (1/S - 1/z), clamped to the renderer's largest CoC. See lens.py.
// Also the input in linear light beside its CoC, so later full-resolution passes fetch one
// texel per tap and decode sRGB once per pixel, not once per tap.
#include "common.glsl"

uniform sampler2D u_inv_depth;
uniform sampler2D u_color;
uniform bool u_color_is_srgb;
uniform float u_coc_scale;   // K in px at the output width
uniform float u_inv_focus;   // 1/S in 1/m
uniform float u_max_coc;     // largest |CoC| diameter in px

in vec2 v_uv;
layout(location = 0) out float f_coc;
layout(location = 1) out vec4 f_full;   // linear rgb, signed CoC diameter

void main() {
    float w = texture(u_inv_depth, v_uv).r;
    f_coc = clamp(u_coc_scale * (u_inv_focus - w), -u_max_coc, u_max_coc);
    vec3 c = texelFetch(u_color, ivec2(gl_FragCoord.xy), 0).rgb;
    f_full = vec4(u_color_is_srgb ? srgb_to_linear(c) : c, f_coc);
}
