#version 330 core
// TEST REFERENCE: shaders/yuv_to_rgb.frag as it was before the per-pass speed work (issue 14),
// kept so tests can show the cheaper pass gives the same pixels. Not used by the product.
// Decoded YUV planes -> linear-light RGB (the renderer works in linear light).
//
// u_matrix and u_offset carry the colour matrix (BT.601/709/2020), the range (limited/full) and the
// bit depth together (gpu/upload.py: yuv_coefficients), so one multiply-add turns normalised texture
// reads into display-encoded R'G'B' for every format. The transfer is then decoded with the sRGB
// EOTF (IEC 61966-2-1 piecewise curve), what most tools use for display-referred video, and the
// inverse of what the composite pass encodes with, so an in-focus pixel round-trips to its input.
in vec2 v_uv;
out vec4 f_color;

uniform sampler2D u_y;          // luma, full size, NEAREST: one texel per output pixel
uniform sampler2D u_u;          // chroma planes, LINEAR: bilinear upsampling of 4:2:0 / 4:2:2
uniform sampler2D u_v;
uniform mat3 u_matrix;          // (normalised code - u_offset) -> R'G'B'
uniform vec3 u_offset;
uniform mat3 u_uv_transform;    // display uv -> coded uv (display rotation)
// Plane textures hold whole decoded rows, padding included: u is scaled to the visible width.
uniform float u_luma_scale;     // width / row length of the luma texture
uniform float u_chroma_scale;   // the same for chroma
uniform float u_chroma_shift;   // chroma siting: +0.25 chroma texel for left-sited (MPEG) chroma
uniform float u_chroma_max;     // u of the last chroma texel centre: bilinear stops there

vec3 srgb_eotf(vec3 c) {
    vec3 lo = c / 12.92;
    vec3 hi = pow((c + 0.055) / 1.055, vec3(2.4));
    return mix(lo, hi, step(vec3(0.04045), c));
}

void main() {
    vec2 uv = (u_uv_transform * vec3(v_uv, 1.0)).xy;
    vec2 luv = vec2(uv.x * u_luma_scale, uv.y);
    vec2 cuv = vec2(min(uv.x * u_chroma_scale + u_chroma_shift, u_chroma_max), uv.y);
    vec3 yuv = vec3(texture(u_y, luv).r, texture(u_u, cuv).r, texture(u_v, cuv).r);
    // Super-whites and sub-blacks of limited-range video are clipped: the pipeline is
    // display-referred, and a negative value has no defined transfer.
    vec3 rgb = clamp(u_matrix * (yuv - u_offset), 0.0, 1.0);
    f_color = vec4(srgb_eotf(rgb), 1.0);
}
